import type { AnyKysely } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import type { AppendOutcome, AppendUnit } from './model.ts';
import { appendUnitsInTransaction as appendOnPostgres } from './postgres/append-in-transaction.ts';
import { appendUnitsInTransaction as appendOnSqlite } from './sqlite/append-units.ts';

/**
 * Appends `units` inside `trx`, a transaction of `db` the caller opened: the events
 * commit with the caller's other writes or not at all (an audit event and the change
 * it records). Units are checked as in any append; nothing here checks who may write
 * where, so only Tessera's own domains call it, for entities no client can write
 * (`$`-prefixed). Call it last in the transaction: it holds the log's write lock
 * until the commit.
 */
export async function appendInTransaction(
  db: Database,
  trx: AnyKysely,
  units: readonly AppendUnit[],
): Promise<AppendOutcome[]> {
  if (db.engine === 'postgres') return appendOnPostgres(trx, units);
  // Inside `db.transaction`, withRaw joins that transaction on the one connection.
  return db.withRaw((raw) => {
    if (!raw.isTransaction) throw new Error('appendInTransaction needs an open transaction');
    return appendOnSqlite(raw, units);
  });
}
