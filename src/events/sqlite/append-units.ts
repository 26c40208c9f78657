import type { DatabaseSync } from 'node:sqlite';
import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { ChainEnd } from '../chain/chain-linker.ts';
import type { AppendOutcome, AppendUnit } from '../model.ts';
import {
  type AppendPlan,
  type ExistingEvent,
  lookupsFor,
  planAppend,
  tenantKey,
} from '../plan-append.ts';
import {
  commitTime,
  dayStart,
  EVENTS_PER_DAY,
  limitedTenants,
  STORAGE_BYTES,
  type TenantUsage,
} from '../plan-quota.ts';
import type { AppendSettings } from '../store.ts';
import { prepared } from './statements.ts';

const INSERT_EVENT = `INSERT INTO events
  (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id, hash)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPSERT_ENTITY = `INSERT INTO entities
  (tenant_id, entity_id, version, last_position, last_time_ms, bytes) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (tenant_id, entity_id) DO UPDATE SET version = excluded.version,
  last_position = excluded.last_position, last_time_ms = excluded.last_time_ms,
  bytes = entities.bytes + excluded.bytes`;
const UPSERT_TYPE = `INSERT INTO event_types (tenant_id, event_type, events) VALUES (?, ?, ?)
  ON CONFLICT (tenant_id, event_type) DO UPDATE SET events = event_types.events + excluded.events`;
const READ_LEDGER_HEAD = 'SELECT position, hash FROM ledger_heads WHERE partition = ?';
const UPSERT_LEDGER_HEAD = `INSERT INTO ledger_heads (partition, position, hash, chained) VALUES (?, ?, ?, ?)
  ON CONFLICT (partition) DO UPDATE SET position = excluded.position, hash = excluded.hash,
  chained = ledger_heads.chained + excluded.chained`;
const READ_USAGE = `SELECT used FROM quota_usage WHERE tenant_id = ? AND quota = ? AND window_start_ms = ?`;
// Both counters of a tenant in one statement: today's events and all bytes stored.
const ADD_USAGE = `INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  VALUES (?, '${EVENTS_PER_DAY}', ?, ?), (?, '${STORAGE_BYTES}', 0, ?)
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = quota_usage.used + excluded.used`;

/**
 * One write transaction (BEGIN IMMEDIATE: SQLite's single writer lock) for every
 * unit: read the head, versions, existing client ids and the partitions' ledger heads,
 * plan in memory, write. SQLite has one writer, so commit order is position order,
 * and no other commit can chain onto the ledger heads read here.
 */
export function appendUnits(
  db: SqliteDatabase,
  units: readonly AppendUnit[],
  settings: AppendSettings,
): Promise<AppendOutcome[]> {
  return db.withRawTransaction((raw) => appendUnitsInTransaction(raw, units, settings));
}

/** The work of `appendUnits` inside a write transaction the caller opened and commits. */
export function appendUnitsInTransaction(
  raw: DatabaseSync,
  units: readonly AppendUnit[],
  { now, chain }: AppendSettings,
): AppendOutcome[] {
  const head = prepared(raw, 'SELECT position, time_ms FROM event_log_head WHERE id = 1').get() as {
    position: number;
    time_ms: number;
  };
  const nowMs = now();
  const state = readState(raw, units, dayStart(commitTime(head, nowMs)));
  const plan = planAppend(units, state, head, nowMs, chain);
  write(raw, plan, head.time_ms);
  return plan.outcomes;
}

interface StoredByClientId {
  entity_id: string;
  event_type: string;
  version: number;
  position: number;
  payload: string;
  metadata: string;
}

function readState(raw: DatabaseSync, units: readonly AppendUnit[], dayStartMs: number) {
  const lookups = lookupsFor(units);
  const versionOf = prepared(
    raw,
    'SELECT version FROM entities WHERE tenant_id = ? AND entity_id = ?',
  );
  const versions = new Map<string, number>();
  for (const { tenant_id, entity_id } of lookups.entities) {
    const row = versionOf.get(tenant_id, entity_id) as { version: number } | undefined;
    if (row) versions.set(tenantKey(tenant_id, entity_id), row.version);
  }
  const byClientId = prepared(
    raw,
    `SELECT entity_id, event_type, version, position, payload, metadata
     FROM events WHERE tenant_id = ? AND client_id = ?`,
  );
  const existing = new Map<string, ExistingEvent>();
  for (const { tenant_id, id } of lookups.clientIds) {
    const row = byClientId.get(tenant_id, id) as StoredByClientId | undefined;
    if (!row) continue;
    existing.set(tenantKey(tenant_id, id), {
      id,
      entity_id: row.entity_id,
      event_type: row.event_type,
      version: row.version,
      position: row.position,
      payload: JSON.parse(row.payload),
      metadata: JSON.parse(row.metadata),
    });
  }
  return {
    versions,
    existing,
    usage: readUsage(raw, limitedTenants(units), dayStartMs),
    heads: readLedgerHeads(raw, lookups.partitions),
  };
}

function readLedgerHeads(raw: DatabaseSync, partitions: readonly string[]): Map<string, ChainEnd> {
  const read = prepared(raw, READ_LEDGER_HEAD);
  const heads = new Map<string, ChainEnd>();
  for (const partition of partitions) {
    const head = read.get(partition) as ChainEnd | undefined;
    if (head) heads.set(partition, { position: head.position, hash: head.hash });
  }
  return heads;
}

function readUsage(
  raw: DatabaseSync,
  tenants: readonly string[],
  dayStartMs: number,
): Map<string, TenantUsage> {
  const usage = new Map<string, TenantUsage>();
  if (tenants.length === 0) return usage;
  const read = prepared(raw, READ_USAGE);
  const used = (tenant: string, quota: string, window: number) =>
    (read.get(tenant, quota, window) as { used: number } | undefined)?.used ?? 0;
  for (const tenant of tenants) {
    usage.set(tenant, {
      events_today: used(tenant, EVENTS_PER_DAY, dayStartMs),
      storage_bytes: used(tenant, STORAGE_BYTES, 0),
    });
  }
  return usage;
}

function write(raw: DatabaseSync, plan: AppendPlan, previousTimeMs: number): void {
  if (plan.rows.length === 0) return;
  const insert = prepared(raw, INSERT_EVENT);
  for (const row of plan.rows) {
    insert.run(
      row.position,
      row.tenant_id,
      row.entity_id,
      row.version,
      row.event_type,
      row.time_ms,
      row.payload,
      row.metadata,
      row.client_id,
      row.hash,
    );
  }
  const ledgerHead = prepared(raw, UPSERT_LEDGER_HEAD);
  for (const h of plan.heads) ledgerHead.run(h.partition, h.position, h.hash, h.chained);
  const entity = prepared(raw, UPSERT_ENTITY);
  for (const e of plan.entities) {
    entity.run(e.tenant_id, e.entity_id, e.version, e.last_position, e.last_time_ms, e.bytes);
  }
  const type = prepared(raw, UPSERT_TYPE);
  for (const t of plan.types) type.run(t.tenant_id, t.event_type, t.events);
  const usage = prepared(raw, ADD_USAGE);
  for (const u of plan.usage) {
    usage.run(u.tenant_id, plan.day_start_ms, u.events, u.tenant_id, u.bytes);
  }
  const first = (plan.rows[0] as { position: number }).position;
  // The time index needs only the first position of each distinct commit time.
  if (plan.head.time_ms > previousTimeMs) {
    prepared(raw, 'INSERT INTO event_commits (first_position, time_ms) VALUES (?, ?)').run(
      first,
      plan.head.time_ms,
    );
  }
  prepared(raw, 'UPDATE event_log_head SET position = ?, time_ms = ? WHERE id = 1').run(
    plan.head.position,
    plan.head.time_ms,
  );
}
