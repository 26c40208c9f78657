import type { StatementSync } from 'node:sqlite';
import { TesseraError } from '../platform/errors.ts';
import type { Database } from '../storage/open-database.ts';
import { listTables, quoteIdent, type RunQuery, type TableShape, tableShape } from './catalog.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest, ManifestPart } from './manifest.ts';
import { type OpenBackup, partRows } from './read-backup.ts';
import type { RestoreOptions } from './restore.ts';
import { BACKUP_TABLES, isJsonType } from './tables.ts';

// Loading the tables, moved out of restore.ts: matching the backup's columns to the
// target's, emptying the tables and inserting every row, per engine.

const INSERT_BATCH = 1000;

/**
 * The target's shape of every table in the backup: the same tables, each with the
 * same columns (order may differ), or the backup does not fit this schema.
 */
export async function matchShapes(
  db: Database,
  run: RunQuery,
  manifest: Manifest,
): Promise<Map<string, TableShape>> {
  const present = new Set(await listTables(db.engine, run));
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
    const shape = await tableShape(db.engine, run, part.table);
    const have = shape.columns.map((column) => column.name).sort();
    const want = part.columns.map((column) => column.name).sort();
    if (have.join(',') !== want.join(',')) {
      throw misfit(`${part.table} has columns ${want.join(', ')}, the schema ${have.join(', ')}`);
    }
    shapes.set(part.table, shape);
  }
  return shapes;
}

/** Removes every row, the migrations' own (the system tenant, the log head) included. */
export async function emptyTables(db: Database, run: RunQuery, tables: string[]): Promise<void> {
  if (db.engine === 'postgres') {
    await run(`TRUNCATE ${tables.map(quoteIdent).join(', ')}`);
    return;
  }
  // Foreign keys are checked at the commit, when every row is back.
  await run('PRAGMA defer_foreign_keys = ON');
  for (const table of [...tables].reverse()) await run(`DELETE FROM ${quoteIdent(table)}`);
}

/** Inserts every part in batches, telling onProgress after each batch and for each empty table. */
export async function loadParts(
  db: Database,
  run: RunQuery,
  backup: OpenBackup,
  shapes: Map<string, TableShape>,
  options: RestoreOptions,
): Promise<number> {
  const { manifest } = backup;
  const totalRows = manifest.tables.reduce((sum, part) => sum + part.rows, 0);
  let doneRows = 0;
  for (const part of manifest.tables) {
    const shape = shapes.get(part.table) as TableShape;
    const insert = inserter(db, run, part, shape, manifest.engine);
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

/**
 * Inserts rows given in the backup's column order. PostgreSQL: one INSERT ... SELECT
 * FROM unnest(...) per batch, each column an array of the target's type. SQLite: one
 * prepared statement. JSON that PostgreSQL wrote (spaced) is stored compact on SQLite.
 */
function inserter(
  db: Database,
  run: RunQuery,
  part: ManifestPart,
  shape: TableShape,
  sourceEngine: Manifest['engine'],
): (rows: unknown[][]) => Promise<void> {
  const names = part.columns.map((column) => quoteIdent(column.name)).join(', ');
  const table = quoteIdent(part.table);
  if (db.engine === 'postgres') {
    const types = part.columns.map(
      (column) => shape.columns.find((target) => target.name === column.name)?.type as string,
    );
    const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
    const text = `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
    return async (rows) => {
      const columns = part.columns.map((_, i) => rows.map((row) => row[i]));
      await run(text, columns as never);
    };
  }
  const compact = part.columns.map(
    (column) => sourceEngine === 'postgres' && isJsonType(column.type),
  );
  const placeholders = part.columns.map(() => '?').join(', ');
  const text = `INSERT INTO ${table} (${names}) VALUES (${placeholders})`;
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
}
