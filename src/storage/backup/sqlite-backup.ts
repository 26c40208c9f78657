import type { StatementSync } from 'node:sqlite';
import type { SqliteDatabase } from '../sqlite/open-sqlite.ts';
import type { BackupAdapter, RestoreTarget, RunQuery } from './adapter.ts';
import { catalogOn, isJsonType, quoteIdent } from './catalog.ts';
import { SQLITE_CATALOG } from './sqlite-catalog.ts';
import { openSqliteSnapshot } from './sqlite-snapshot.ts';

/** Backup and restore on the embedded SQLite file. */
export function createSqliteBackup(db: SqliteDatabase): BackupAdapter {
  return {
    openSnapshot: () => openSqliteSnapshot(db.location),
    restore: (fn) => db.exclusive((trx) => fn(restoreTarget(db, trx))),
  };
}

function restoreTarget(db: SqliteDatabase, trx: RestoreTarget['trx']): RestoreTarget {
  // Inside db.exclusive, withRaw joins the transaction on its connection.
  const run: RunQuery = (text, params = []) =>
    db.withRaw((raw) => raw.prepare(text).all(...params) as Record<string, unknown>[]);
  return {
    ...catalogOn(run, SQLITE_CATALOG),
    trx,
    // The write lock the transaction holds already excludes every other writer.
    lock: async () => {},
    async drop(tables) {
      await run('PRAGMA defer_foreign_keys = ON');
      for (const table of tables) await run(`DROP TABLE ${quoteIdent(table)}`);
    },
    async empty(tables) {
      // Foreign keys are checked at the commit, when every row is back.
      await run('PRAGMA defer_foreign_keys = ON');
      for (const table of [...tables].reverse()) await run(`DELETE FROM ${quoteIdent(table)}`);
    },
    inserter(table, columns, _shape, source) {
      // JSON that PostgreSQL wrote (spaced) is stored compact, as SQLite's own.
      const compact = columns.map((column) => source === 'postgres' && isJsonType(column.type));
      const names = columns.map((column) => quoteIdent(column.name)).join(', ');
      const placeholders = columns.map(() => '?').join(', ');
      const text = `INSERT INTO ${quoteIdent(table)} (${names}) VALUES (${placeholders})`;
      let statement: StatementSync | undefined;
      return (rows) =>
        db.withRaw((raw) => {
          statement ??= raw.prepare(text);
          for (const row of rows) {
            const values = row.map((value, i) =>
              compact[i] && typeof value === 'string' ? JSON.stringify(JSON.parse(value)) : value,
            );
            (statement as StatementSync).run(...(values as (string | number | null)[]));
          }
        });
    },
  };
}
