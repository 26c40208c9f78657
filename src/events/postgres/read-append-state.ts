import {
  type AppendState,
  type ExistingEvent,
  type lookupsFor,
  tenantKey,
} from '../plan-append.ts';
import { EVENTS_PER_DAY, STORAGE_BYTES, type TenantUsage } from '../plan-quota.ts';
import type { SqlClient } from './sql-client.ts';

type Lookups = ReturnType<typeof lookupsFor>;

/** The append state but the ledger heads, which are read with the head lock. */
export type StoredState = Omit<AppendState, 'heads'>;

/** Whose quota counters to read, and today's window (see `commitTime`). */
export interface UsageLookup {
  readonly tenants: readonly string[];
  readonly day_start_ms: number;
}

/** Both lookups share one result shape; `key` is the entity id or the client id. */
type StateRecord =
  | {
      readonly kind: 'entity';
      readonly tenant_id: string;
      readonly key: string;
      readonly version: number;
    }
  | {
      readonly kind: 'event';
      readonly tenant_id: string;
      readonly key: string;
      readonly entity_id: string;
      readonly version: number;
      readonly position: number;
      readonly event_type: string;
      readonly payload: unknown;
      readonly metadata: Record<string, unknown>;
    }
  | {
      readonly kind: 'usage';
      readonly tenant_id: string;
      /** The quota the counter is for. */
      readonly key: string;
      /** The counter's value (the bigint column of the union). */
      readonly position: number;
    };

// One round trip inside the head lock for both lookups. Each key is one probe of
// a unique index: LIMIT 1 keeps the planner from turning the lookups into a hash
// join over a scan of the whole table, which it estimates cheaper on small tables
// and keeps as a cached plan. `client_id IS NOT NULL` matches the partial index.
const READ_VERSIONS = `SELECT 'entity' AS kind, k.tenant_id, k.entity_id AS key, k.entity_id, e.version,
       NULL::bigint AS position, NULL::text AS event_type, NULL::jsonb AS payload, NULL::jsonb AS metadata
  FROM unnest($1::text[], $2::text[]) AS k(tenant_id, entity_id)
  CROSS JOIN LATERAL (SELECT version FROM entities
     WHERE tenant_id = k.tenant_id AND entity_id = k.entity_id LIMIT 1) AS e`;
const READ_STATE = `${READ_VERSIONS}
UNION ALL
SELECT 'event', c.tenant_id, c.client_id::text, ev.entity_id, ev.version,
       ev.position, ev.event_type, ev.payload, ev.metadata
  FROM unnest($3::text[], $4::uuid[]) AS c(tenant_id, client_id)
  CROSS JOIN LATERAL (SELECT entity_id, version, position, event_type, payload, metadata FROM events
     WHERE tenant_id = c.tenant_id AND client_id = c.client_id AND client_id IS NOT NULL LIMIT 1) AS ev`;

// Quota counters of limited tenants (two primary key probes each), the value in
// the union's bigint column. Its parameters follow the others'.
const readUsage = (first: number) => `
UNION ALL
SELECT 'usage', u.tenant_id, u.quota, NULL, NULL, u.used, NULL, NULL, NULL
  FROM quota_usage u
 WHERE u.tenant_id = ANY($${first}::text[])
   AND ((u.quota = '${EVENTS_PER_DAY}' AND u.window_start_ms = $${first + 1}::bigint)
     OR (u.quota = '${STORAGE_BYTES}' AND u.window_start_ms = 0))`;
const READ_VERSIONS_USAGE = READ_VERSIONS + readUsage(3);
const READ_STATE_USAGE = READ_STATE + readUsage(5);

/**
 * Current versions of the units' entities, the events stored under their client ids
 * and, when asked, the quota counters of some tenants: one round trip.
 */
export async function readAppendState(
  client: SqlClient,
  lookups: Lookups,
  usageOf?: UsageLookup,
): Promise<StoredState> {
  const values: unknown[] = [
    lookups.entities.map((entity) => entity.tenant_id),
    lookups.entities.map((entity) => entity.entity_id),
  ];
  // Most appends carry no client ids: the versions alone are a cheaper statement.
  const withIds = lookups.clientIds.length > 0;
  if (withIds) {
    values.push(
      lookups.clientIds.map((clientId) => clientId.tenant_id),
      lookups.clientIds.map((clientId) => clientId.id),
    );
  }
  const withUsage = usageOf !== undefined && usageOf.tenants.length > 0;
  if (withUsage) values.push(usageOf.tenants, usageOf.day_start_ms);
  const statement = STATEMENTS[Number(withIds) + 2 * Number(withUsage)] as Statement;
  const { rows } = await client.query<StateRecord>({ ...statement, values });
  const versions = new Map<string, number>();
  const existing = new Map<string, ExistingEvent>();
  const usage = new Map<string, { events_today: number; storage_bytes: number }>();
  for (const tenant of withUsage ? usageOf.tenants : []) {
    usage.set(tenant, { events_today: 0, storage_bytes: 0 });
  }
  for (const row of rows) {
    const key = tenantKey(row.tenant_id, row.key);
    if (row.kind === 'entity') {
      versions.set(key, row.version);
    } else if (row.kind === 'usage') {
      const counters = usage.get(row.tenant_id);
      if (!counters) continue;
      if (row.key === EVENTS_PER_DAY) counters.events_today = row.position;
      else counters.storage_bytes = row.position;
    } else {
      const { entity_id, event_type, version, position, payload, metadata } = row;
      existing.set(key, {
        id: row.key,
        entity_id,
        event_type,
        version,
        position,
        payload,
        metadata,
      });
    }
  }
  return { versions, existing, usage: usage as Map<string, TenantUsage> };
}

interface Statement {
  readonly name: string;
  readonly text: string;
}

// By (client ids ? 1 : 0) + (usage ? 2 : 0).
const STATEMENTS: readonly Statement[] = [
  { name: 'tessera_events_read_versions', text: READ_VERSIONS },
  { name: 'tessera_events_read_append_state', text: READ_STATE },
  { name: 'tessera_events_read_versions_usage', text: READ_VERSIONS_USAGE },
  { name: 'tessera_events_read_append_state_usage', text: READ_STATE_USAGE },
];
