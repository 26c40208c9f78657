import { type Kysely, sql } from 'kysely';
import { chainHash, GENESIS_HASH } from '../../src/events/chain/chain-hash.ts';
import type { LedgerHead } from '../../src/events/chain/ledger-heads.ts';
import { generatedEventId } from '../../src/events/event-id.ts';
import type { StoredEvent } from '../../src/events/model.ts';
import { openEventStore } from '../../src/events/open-event-store.ts';
import type { EventRecord } from '../../src/events/row-to-event.ts';
import type { AnyKysely, Engine } from '../../src/storage/database.ts';
import type { Database } from '../../src/storage/open-database.ts';

/**
 * Until the append path writes `events.hash` and `ledger_heads` (issue 22 item 1),
 * checkpoint tests chain their partitions here: the whole chain recomputed from
 * genesis with `chainHash` over each event's chained form, hashes and head written
 * by SQL. Idempotent, so it stays correct once appends chain events themselves.
 */
export async function chainPartition(
  db: Database,
  engine: Engine,
  partition: string,
): Promise<LedgerHead | undefined> {
  const kysely = db.kysely as Kysely<{ events: EventRecord & { hash: string | null } }>;
  const rows = await kysely
    .selectFrom('events')
    .select([
      'position',
      'tenant_id',
      'entity_id',
      'version',
      'event_type',
      'time_ms',
      'payload',
      'metadata',
      'client_id',
    ])
    .where('tenant_id', '=', partition)
    .orderBy('position')
    .execute();
  const parse = (json: unknown) => (engine === 'sqlite' ? JSON.parse(json as string) : json);
  let hash = GENESIS_HASH;
  for (const row of rows) {
    hash = chainHash(hash, chainedForm(row, parse));
    await kysely.updateTable('events').set({ hash }).where('position', '=', row.position).execute();
  }
  const last = rows.at(-1);
  if (!last) return undefined;
  const head: LedgerHead = { partition, position: last.position, hash, chained: rows.length };
  await writeHead(db.kysely, head);
  return head;
}

/** The chained form (the shared definition): stored JSON values, never the deep-as-text form. */
function chainedForm(row: EventRecord, parse: (json: unknown) => unknown): StoredEvent {
  return {
    id: row.client_id ?? generatedEventId(row.position),
    tenant_id: row.tenant_id,
    entity_id: row.entity_id,
    event_type: row.event_type,
    version: row.version,
    position: row.position,
    timestamp: new Date(row.time_ms).toISOString(),
    payload: parse(row.payload),
    metadata: parse(row.metadata) as Record<string, unknown>,
  };
}

export async function writeHead(kysely: AnyKysely, head: LedgerHead): Promise<void> {
  await sql`INSERT INTO ledger_heads (partition, position, hash, chained)
    VALUES (${head.partition}, ${head.position}, ${head.hash}, ${head.chained})
    ON CONFLICT (partition) DO UPDATE SET position = excluded.position,
      hash = excluded.hash, chained = excluded.chained`.execute(kysely);
}

/** Appends `count` events to `partition` (entity `entity`) and chains the partition. */
export async function appendChained(
  db: Database,
  engine: Engine,
  partition: string,
  count: number,
  entity = 'order-1',
): Promise<LedgerHead> {
  const store = openEventStore(db);
  const events = Array.from({ length: count }, (_, i) => ({
    event_type: 'order.noted',
    payload: { n: i, note: 'ünïcode ✓' },
    metadata: {},
  }));
  await db.transaction((trx) =>
    store.appendInTransaction(trx, [
      { tenant_id: partition, entities: [{ entity_id: entity, expected_version: 'any', events }] },
    ]),
  );
  const head = await chainPartition(db, engine, partition);
  if (!head) throw new Error(`no events in ${partition}`);
  return head;
}
