import type pg from 'pg';
import {
  type AppendState,
  type ExistingEvent,
  type lookupsFor,
  tenantKey,
} from '../plan-append.ts';

type Lookups = ReturnType<typeof lookupsFor>;

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

/** Current versions of the units' entities and the events stored under their client ids. */
export async function readAppendState(
  client: pg.PoolClient,
  lookups: Lookups,
): Promise<AppendState> {
  const entities = [
    lookups.entities.map((entity) => entity.tenant_id),
    lookups.entities.map((entity) => entity.entity_id),
  ];
  // Most appends carry no client ids: the versions alone are a cheaper statement.
  const { rows } = await client.query<StateRecord>(
    lookups.clientIds.length === 0
      ? { name: 'tessera_events_read_versions', text: READ_VERSIONS, values: entities }
      : {
          name: 'tessera_events_read_append_state',
          text: READ_STATE,
          values: [
            ...entities,
            lookups.clientIds.map((clientId) => clientId.tenant_id),
            lookups.clientIds.map((clientId) => clientId.id),
          ],
        },
  );
  const versions = new Map<string, number>();
  const existing = new Map<string, ExistingEvent>();
  for (const row of rows) {
    const key = tenantKey(row.tenant_id, row.key);
    if (row.kind === 'entity') {
      versions.set(key, row.version);
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
  return { versions, existing };
}
