import { TesseraError } from '../platform/errors.ts';
import type { RestoreTarget, TableShape } from '../storage/backup/adapter.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { type OpenBackup, partRows } from './read-backup.ts';
import type { RestoreOptions } from './restore.ts';
import { BACKUP_TABLES } from './tables.ts';

// Loading the tables, moved out of restore.ts: matching the backup's columns to the
// target's and inserting every row (the target's adapter does the engine's part).

const INSERT_BATCH = 1000;

/**
 * The target's shape of every table in the backup: the same tables, each with the
 * same columns (order may differ), or the backup does not fit this schema.
 */
export async function matchShapes(
  target: RestoreTarget,
  manifest: Manifest,
): Promise<Map<string, TableShape>> {
  const present = new Set(await target.tables());
  const expected = BACKUP_TABLES.filter((table) => present.has(table));
  const inBackup = manifest.tables.map((part) => part.table);
  const missing = expected.filter((table) => !inBackup.includes(table));
  const misfit = (detail: string) =>
    new TesseraError(
      BackupErrors.backup_invalid,
      `Backup ${manifest.id} does not fit schema version ${manifest.schema_version}: ${detail}.`,
    );
  if (missing.length) throw misfit(`it lacks ${missing.join(', ')}`);
  const shapes = new Map<string, TableShape>();
  for (const part of manifest.tables) {
    if (!present.has(part.table)) throw misfit(`there is no table ${part.table}`);
    const shape = await target.shape(part.table);
    const have = shape.columns.map((column) => column.name).sort();
    const want = part.columns.map((column) => column.name).sort();
    if (have.join(',') !== want.join(',')) {
      throw misfit(`${part.table} has columns ${want.join(', ')}, the schema ${have.join(', ')}`);
    }
    shapes.set(part.table, shape);
  }
  return shapes;
}

/**
 * Inserts every part (or those of `parts`, a subset of the manifest's) in batches,
 * telling onProgress after each batch and for each empty table.
 */
export async function loadParts(
  target: RestoreTarget,
  backup: OpenBackup,
  shapes: Map<string, TableShape>,
  options: Pick<RestoreOptions, 'key' | 'onProgress'>,
  parts: OpenBackup['manifest']['tables'] = backup.manifest.tables,
): Promise<number> {
  const { manifest } = backup;
  const totalRows = parts.reduce((sum, part) => sum + part.rows, 0);
  let doneRows = 0;
  for (const part of parts) {
    const shape = (shapes.get(part.table) ?? (await target.shape(part.table))) as TableShape;
    const insert = target.inserter(part.table, part.columns, shape, manifest.engine);
    let rows = 0;
    const report = () =>
      options.onProgress?.({
        phase: 'restore',
        table: part.table,
        rows,
        tableRows: part.rows,
        doneRows,
        totalRows,
      });
    for await (const batch of partRows(backup, part, options.key)) {
      for (let i = 0; i < batch.length; i += INSERT_BATCH) {
        await insert(batch.slice(i, i + INSERT_BATCH));
      }
      rows += batch.length;
      doneRows += batch.length;
      report();
    }
    // Also for a table without rows, so every table gets its line.
    if (rows === 0) report();
  }
  return doneRows;
}
