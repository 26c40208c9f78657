import type { AppendPlan } from '../plan-append.ts';
import { EVENTS_PER_DAY, STORAGE_BYTES } from '../plan-quota.ts';
import type { LogHead } from './lock-log-head.ts';
import type { SqlClient } from './sql-client.ts';

/** The channel `pg-notifier.ts` listens on; the payload is the new head position. */
export const EVENTS_CHANNEL = 'tessera_events';

// Every write of the commit in one statement (data-modifying CTEs all run, whether
// referenced or not), so the head lock is held for one round trip of writes. JSON
// and client ids travel as text arrays and are cast by the server.
const WRITE_PLAN = `WITH appended AS (
  INSERT INTO events (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id, hash)
  SELECT position, tenant_id, entity_id, version, event_type, time_ms, payload::jsonb, metadata::jsonb, client_id::uuid, hash
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $28::text[])
      AS r(position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id, hash)
), ledger AS (
  INSERT INTO ledger_heads (partition, position, hash, chained)
  SELECT * FROM unnest($29::text[], $30::bigint[], $31::text[], $32::bigint[])
  ON CONFLICT (partition) DO UPDATE SET
    position = excluded.position,
    hash = excluded.hash,
    chained = ledger_heads.chained + excluded.chained
), entity_summaries AS (
  INSERT INTO entities (tenant_id, entity_id, version, last_position, last_time_ms, bytes)
  SELECT * FROM unnest($10::text[], $11::text[], $12::integer[], $13::bigint[], $14::bigint[], $15::bigint[])
  ON CONFLICT (tenant_id, entity_id) DO UPDATE SET
    version = excluded.version,
    last_position = excluded.last_position,
    last_time_ms = excluded.last_time_ms,
    bytes = entities.bytes + excluded.bytes
), type_counts AS (
  INSERT INTO event_types (tenant_id, event_type, events)
  SELECT * FROM unnest($16::text[], $17::text[], $18::bigint[])
  ON CONFLICT (tenant_id, event_type) DO UPDATE SET events = event_types.events + excluded.events
), commit_time AS (
  INSERT INTO event_commits (first_position, time_ms) SELECT $19::bigint, $20::bigint WHERE $21::boolean
), head AS (
  UPDATE event_log_head SET position = $22::bigint, time_ms = $20::bigint WHERE id = 1
), usage AS (
  INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  SELECT u.tenant_id, q.quota, q.window_start_ms, q.used
    FROM unnest($24::text[], $25::bigint[], $26::bigint[]) AS u(tenant_id, events, bytes)
    CROSS JOIN LATERAL (VALUES ('${EVENTS_PER_DAY}', $27::bigint, u.events),
                               ('${STORAGE_BYTES}', 0::bigint, u.bytes)) AS q(quota, window_start_ms, used)
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = quota_usage.used + excluded.used
), unexpected AS (
  SELECT count(*)::integer AS entities
    FROM unnest($10::text[], $11::text[], $23::integer[]) AS b(tenant_id, entity_id, version)
    LEFT JOIN entities e ON e.tenant_id = b.tenant_id AND e.entity_id = b.entity_id
   WHERE coalesce(e.version, -1) <> b.version
)
SELECT pg_notify('${EVENTS_CHANNEL}', $22::bigint::text), (SELECT entities FROM unexpected) AS unexpected`;

/**
 * Writes what `planAppend` decided, planned on `previousVersions` (one per entity
 * of the plan, -1 for none). Every part of the statement reads the state from before
 * it, so it can tell whether those were the stored versions: if not, it answers
 * false and the caller must roll back. Each tenant's quota counters (today's events,
 * bytes stored) grow by what it wrote. `event_commits` gets a row only when the
 * commit time moves past the previous head's: a time filter needs just the first
 * position of each distinct time. Each partition's `ledger_heads` row moves to its
 * last new event (chained: + its new events). The notification is delivered only if
 * the transaction commits.
 */
export async function writeAppendPlan(
  client: SqlClient,
  plan: AppendPlan,
  previous: LogHead,
  previousVersions: readonly number[],
): Promise<boolean> {
  const { rows, entities, types, head, usage } = plan;
  const result = await client.query<{ unexpected: number }>({
    name: 'tessera_events_write_plan',
    text: WRITE_PLAN,
    values: [
      rows.map((row) => row.position),
      rows.map((row) => row.tenant_id),
      rows.map((row) => row.entity_id),
      rows.map((row) => row.version),
      rows.map((row) => row.event_type),
      rows.map((row) => row.time_ms),
      rows.map((row) => row.payload),
      rows.map((row) => row.metadata),
      rows.map((row) => row.client_id),
      entities.map((entity) => entity.tenant_id),
      entities.map((entity) => entity.entity_id),
      entities.map((entity) => entity.version),
      entities.map((entity) => entity.last_position),
      entities.map((entity) => entity.last_time_ms),
      entities.map((entity) => entity.bytes),
      types.map((type) => type.tenant_id),
      types.map((type) => type.event_type),
      types.map((type) => type.events),
      previous.position + 1,
      head.time_ms,
      head.time_ms > previous.time_ms,
      head.position,
      previousVersions,
      usage.map((change) => change.tenant_id),
      usage.map((change) => change.events),
      usage.map((change) => change.bytes),
      plan.day_start_ms,
      rows.map((row) => row.hash),
      plan.heads.map((h) => h.partition),
      plan.heads.map((h) => h.position),
      plan.heads.map((h) => h.hash),
      plan.heads.map((h) => h.chained),
    ],
  });
  return result.rows[0]?.unexpected === 0;
}
