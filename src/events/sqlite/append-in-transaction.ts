import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { AppendOutcome, AppendUnit } from '../model.ts';
import type { AppendSettings } from '../store.ts';
import { appendUnitsInTransaction } from './append-units.ts';

/**
 * Appends inside the write transaction the caller opened with `db.transaction` and
 * commits. SQLite has one connection per handle: the caller's Kysely transaction is
 * that connection's transaction, which `withRaw` joins, so it needs no `trx`.
 */
export function appendInTransaction(
  db: SqliteDatabase,
  units: readonly AppendUnit[],
  settings: AppendSettings,
): Promise<AppendOutcome[]> {
  return db.withRaw((raw) => {
    if (!raw.isTransaction) throw new Error('appendInTransaction needs an open transaction');
    return appendUnitsInTransaction(raw, units, settings);
  });
}
