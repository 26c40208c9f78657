import { type LedgerHead, readLedgerHeads } from '../../src/events/chain/ledger-heads.ts';
import { openEventStore } from '../../src/events/open-event-store.ts';
import type { Database } from '../../src/storage/open-database.ts';

/** The partition's `ledger_heads` row, which the append transaction keeps. */
export async function headOf(db: Database, partition: string): Promise<LedgerHead> {
  const [head] = await readLedgerHeads(db.kysely, [partition]);
  if (!head) throw new Error(`no chained events in ${partition}`);
  return head;
}

/**
 * Appends `count` events to `partition` (entity `entity`) through the store, in one
 * transaction, and returns the partition's head: the append chains them.
 */
export async function appendChained(
  db: Database,
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
  return headOf(db, partition);
}
