import type { RestoreTarget } from '../storage/backup/adapter.ts';
import { schemaVersionOf } from '../storage/backup/catalog.ts';
import { BACKUP_TABLES, BASELINE_EXCLUSIONS, LEDGER_TABLE } from './tables.ts';

// What the restore finds on the target and, for a newer schema, clears; moved out of
// restore.ts. Both run inside the restore's transaction.

export interface TargetState {
  readonly schemaVersion: number;
  /** Known tables holding rows other than those the migrations create. */
  readonly tablesWithData: string[];
}

/**
 * The target's schema version and the known tables holding data. The tables are
 * locked first, so no other node's write lands between this look and the load.
 */
export async function inspectTarget(target: RestoreTarget): Promise<TargetState> {
  const present = await target.tables();
  const known = BACKUP_TABLES.filter((table) => present.includes(table));
  await target.lock(known);
  const tablesWithData: string[] = [];
  for (const table of known) {
    if ((await target.count(table, BASELINE_EXCLUSIONS[table])) > 0) tablesWithData.push(table);
  }
  return { schemaVersion: await schemaVersionOf(target, present), tablesWithData };
}

/**
 * For a target migrated past the backup's version: removes every table and function
 * Tessera's migrations made, so they can be made again up to the backup's version.
 */
export async function dropTesseraSchema(target: RestoreTarget): Promise<void> {
  const present = await target.tables();
  const ours = [...BACKUP_TABLES].reverse().concat(LEDGER_TABLE);
  await target.drop(ours.filter((table) => present.includes(table)));
}
