import type { NewEvent } from '../src/events/model.ts';
import type { Database } from '../src/storage/open-database.ts';
import { TENANT } from './events-fixture.ts';

/** One transaction's worth of events, all for one entity. */
export interface Batch {
  readonly entity: string;
  readonly events: readonly NewEvent[];
}

const COLUMNS =
  'position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id';
const SQLITE_INSERT = `INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const PG_INSERT = `INSERT INTO events (${COLUMNS})
  SELECT position, tenant_id, entity_id, version, event_type, time_ms, payload::jsonb, metadata::jsonb, client_id::uuid
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[])
    AS r(${COLUMNS})`;

interface Row {
  readonly position: number;
  readonly entity: string;
  readonly version: number;
  readonly event_type: string;
  readonly time_ms: number;
  readonly payload: string;
  readonly metadata: string;
}

/**
 * The rows the store would write for `batches`, built inside the timed loop like the
 * store builds them (JSON serialised per event), so the comparison is event in,
 * durable row out; only the bookkeeping tables and the version checks are missing.
 */
function* rowsOf(batches: readonly Batch[]): Generator<Row[]> {
  const versions = new Map<string, number>();
  let position = 0;
  for (const batch of batches) {
    let version = versions.get(batch.entity) ?? -1;
    const time_ms = Date.now();
    yield batch.events.map((event) => ({
      position: ++position,
      entity: batch.entity,
      version: ++version,
      event_type: event.event_type,
      time_ms,
      payload: JSON.stringify(event.payload),
      metadata: JSON.stringify(event.metadata ?? {}),
    }));
    versions.set(batch.entity, version);
  }
}

const eventsIn = (batches: readonly Batch[]) =>
  batches.reduce((sum, batch) => sum + batch.events.length, 0);

/**
 * The engine's ceiling on the migrated `events` table: plain INSERTs, one transaction
 * per batch, on the database's own connection (WAL and the configured `synchronous`
 * on SQLite, default settings on PostgreSQL). Events per second.
 */
export function rawInsertRate(db: Database, batches: readonly Batch[]): Promise<number> {
  return db.engine === 'sqlite' ? rawSqlite(db, batches) : rawPostgres(db, batches);
}

function rawSqlite(db: Extract<Database, { engine: 'sqlite' }>, batches: readonly Batch[]) {
  return db.withRaw((raw) => {
    const insert = raw.prepare(SQLITE_INSERT);
    const started = performance.now();
    for (const rows of rowsOf(batches)) {
      raw.exec('BEGIN IMMEDIATE');
      for (const r of rows) {
        insert.run(
          r.position,
          TENANT,
          r.entity,
          r.version,
          r.event_type,
          r.time_ms,
          r.payload,
          r.metadata,
          null,
        );
      }
      raw.exec('COMMIT');
    }
    return (eventsIn(batches) / (performance.now() - started)) * 1000;
  });
}

async function rawPostgres(
  db: Extract<Database, { engine: 'postgres' }>,
  batches: readonly Batch[],
) {
  const client = await db.pool.connect();
  try {
    const started = performance.now();
    for (const rows of rowsOf(batches)) {
      await client.query('BEGIN');
      await client.query({
        name: 'bench_raw_events',
        text: PG_INSERT,
        values: [
          rows.map((r) => r.position),
          rows.map(() => TENANT),
          rows.map((r) => r.entity),
          rows.map((r) => r.version),
          rows.map((r) => r.event_type),
          rows.map((r) => r.time_ms),
          rows.map((r) => r.payload),
          rows.map((r) => r.metadata),
          rows.map(() => null),
        ],
      });
      await client.query('COMMIT');
    }
    return (eventsIn(batches) / (performance.now() - started)) * 1000;
  } finally {
    client.release();
  }
}
