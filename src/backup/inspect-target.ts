import type { Database } from '../storage/open-database.ts';
import { countRows, listTables, quoteIdent, type RunQuery, schemaVersionOf } from './catalog.ts';
import { BACKUP_TABLES, BASELINE_EXCLUSIONS, LEDGER_TABLE } from './tables.ts';

// What the restore finds on the target and, for a newer schema, clears; moved out of
// restore.ts. Both run inside the restore's transaction, given its RunQuery.

export interface TargetState {
  readonly schemaVersion: number;
  /** Known tables holding rows other than those the migrations create. */
  readonly tablesWithData: string[];
}

/**
 * The target's schema version and the known tables holding data. On PostgreSQL the
 * tables are locked first, so no other node's write lands between this look and the
 * load (SQLite's write lock, held by the transaction, already excludes writers).
 */
export async function inspectTarget(db: Database, run: RunQuery): Promise<TargetState> {
  const present = await listTables(db.engine, run);
  const known = BACKUP_TABLES.filter((table) => present.includes(table));
  if (db.engine === 'postgres' && known.length) {
    await run(`LOCK TABLE ${known.map(quoteIdent).join(', ')} IN ACCESS EXCLUSIVE MODE`);
  }
  const tablesWithData: string[] = [];
  for (const table of known) {
    if ((await countRows(run, table, BASELINE_EXCLUSIONS[table])) > 0) tablesWithData.push(table);
  }
  return { schemaVersion: await schemaVersionOf(run, present), tablesWithData };
}

/**
 * For a target migrated past the backup's version: removes every table and function
 * Tessera's migrations made, so they can be made again up to the backup's version.
 */
export async function dropTesseraSchema(db: Database, run: RunQuery): Promise<void> {
  const present = await listTables(db.engine, run);
  const ours = [...BACKUP_TABLES].reverse().concat(LEDGER_TABLE);
  const drop = ours.filter((table) => present.includes(table));
  if (db.engine === 'sqlite') {
    await run('PRAGMA defer_foreign_keys = ON');
    for (const table of drop) await run(`DROP TABLE ${quoteIdent(table)}`);
    return;
  }
  if (drop.length) await run(`DROP TABLE ${drop.map(quoteIdent).join(', ')} CASCADE`);
  const functions = await run(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
      WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'tessera\\_%'`,
  );
  for (const row of functions) await run(`DROP FUNCTION ${String(row.signature)}`);
}
