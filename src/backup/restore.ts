import type { StatementSync } from 'node:sqlite';
import { CompiledQuery } from 'kysely';
import { type AuditContext, CLI_AUDIT_CONTEXT } from '../audit/audit-entry.ts';
import { createAuditLog } from '../audit/audit-log.ts';
import { open as openSealed } from '../identity/secret-box.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { TesseraError } from '../platform/errors.ts';
import type { AnyKysely } from '../storage/database.ts';
import { applyMigrations } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { type Authenticity, checkSignature } from './backup-signature.ts';
import {
  countRows,
  listTables,
  quoteIdent,
  type RunQuery,
  schemaVersionOf,
  type TableShape,
  tableShape,
} from './catalog.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest, ManifestPart } from './manifest.ts';
import type { OnProgress } from './progress.ts';
import { BackupDamage, type OpenBackup, openBackup, partRows, requireKey } from './read-backup.ts';
import { BACKUP_TABLES, BASELINE_EXCLUSIONS, isJsonType, LEDGER_TABLE } from './tables.ts';
import { type BackupKeys, type BackupProblem, problemOf, verifyParts } from './verify-backup.ts';

/** `key` and `signingKey`: the encryption key, and the key the signature is checked with. */
export interface RestoreOptions extends BackupKeys {
  /** Replace whatever the target holds; without it a target with data is refused. */
  readonly force?: boolean | undefined;
  /**
   * The master key the target's servers will use. The backup's signing keys must open
   * with it, or every token issued before would stop verifying: the restore refuses.
   */
  readonly masterKey: Buffer | undefined;
  /** Who restores, for the audit event the restore leaves (default: the CLI). */
  readonly audit?: AuditContext | undefined;
  readonly onProgress?: OnProgress | undefined;
}

export interface RestoreResult {
  readonly manifest: Manifest;
  readonly rows: number;
  /** The schema version after the restore (the latest this code knows). */
  readonly schemaVersion: number;
  /** `signed`, or how an unsigned backup was let in (allowUnsigned). */
  readonly authenticity: Authenticity;
}

const INSERT_BATCH = 1000;

/**
 * Loads a backup into `db`, of either engine. The file is verified first; then, in
 * one transaction holding the schema lock, the target is brought to the backup's
 * schema version, emptied, loaded, migrated to the latest version and given a
 * `backup.restored` audit event. Any failure rolls all of it back: the target is
 * either restored or unchanged. Servers on the target should be stopped meanwhile.
 */
export async function restoreBackup(
  db: Database,
  path: string,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const backup = await openChecked(path);
  try {
    const { manifest, authenticity } = await checkBackup(backup, options);
    let rows = 0;
    let replaced = false;
    await db.exclusive(async (trx) => {
      const run = runner(db, trx);
      // Inside the transaction, with the tables locked: what is checked is what is replaced.
      const target = await inspectTarget(db, run);
      if (target.tablesWithData.length && !options.force) {
        throw new TesseraError(
          BackupErrors.restore_target_not_empty,
          `The database at ${db.location} holds data (${target.tablesWithData.join(', ')}): restoring would replace it. Restore into an empty database, or pass --force to replace it.`,
          { extensions: { tables: target.tablesWithData } },
        );
      }
      replaced = target.tablesWithData.length > 0;
      if (target.schemaVersion > manifest.schema_version) await dropTesseraSchema(db, run);
      const upTo = MIGRATIONS.filter((migration) => migration.version <= manifest.schema_version);
      await applyMigrations(db, trx, upTo);
      const shapes = await matchShapes(db, run, manifest);
      await emptyTables(db, run, [...shapes.keys()]);
      rows = await loadParts(db, run, backup, shapes, options);
      await applyMigrations(db, trx, MIGRATIONS);
      // Last: the audit append holds the event log's write lock until the commit.
      await createAuditLog(db).inTransaction(trx, options.audit ?? CLI_AUDIT_CONTEXT, [
        {
          tenant_id: 'system',
          action: 'backup.restored',
          target: `backup:${manifest.id}`,
          outcome: 'success',
          details: {
            created_at: manifest.created_at,
            source_engine: manifest.engine,
            schema_version: manifest.schema_version,
            rows,
            replaced_data: replaced,
            // `unsigned` or `unchecked`: an operator let in a backup of unknown origin.
            signature: authenticity,
          },
        },
      ]);
    });
    // Fresh statistics, so the planner knows the tables are no longer empty.
    if (db.engine === 'postgres') await db.pool.query('ANALYZE');
    return { manifest, rows, schemaVersion: MIGRATIONS.at(-1)?.version ?? 0, authenticity };
  } finally {
    await backup.close();
  }
}

/** The file, its headers and manifest read; a damaged one is `backup_invalid`. */
async function openChecked(path: string): Promise<OpenBackup> {
  try {
    return await openBackup(path, true);
  } catch (error) {
    if (error instanceof BackupDamage) throw invalid(path, [problemOf(error)]);
    throw error;
  }
}

function invalid(path: string, problems: readonly BackupProblem[]): TesseraError {
  const listed = problems.map((p) => `${p.part}: ${p.message}`).join('; ');
  return new TesseraError(BackupErrors.backup_invalid, `The backup ${path} is damaged: ${listed}`, {
    extensions: { problems },
  });
}

/**
 * Everything that can be known from the file alone, before the target is touched:
 * its signature, the key, every byte (as `verify`), the schema version, the tables,
 * the master key.
 */
async function checkBackup(
  backup: OpenBackup,
  options: RestoreOptions,
): Promise<{ manifest: Manifest; authenticity: Authenticity }> {
  const { manifest } = backup;
  // Before anything the manifest says is used: a forged one is refused as such.
  const authenticity = checkSignature(backup, options);
  requireKey(manifest, options.key);
  const report = await verifyParts(backup, options, options.onProgress);
  if (report.problems.length) throw invalid(backup.path, report.problems);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (manifest.schema_version > latest) {
    throw new TesseraError(
      BackupErrors.backup_schema_newer,
      `Backup ${manifest.id} has schema version ${manifest.schema_version} (Tessera ${manifest.tessera_version}); this Tessera knows up to ${latest}. Restore it with a Tessera at least as new.`,
    );
  }
  const unknown = manifest.tables.filter((part) => !BACKUP_TABLES.includes(part.table));
  if (unknown.length) {
    throw new TesseraError(
      BackupErrors.backup_invalid,
      `Backup ${manifest.id} holds tables this Tessera does not know: ${unknown.map((p) => p.table).join(', ')}.`,
    );
  }
  await checkMasterKey(backup, options);
  return { manifest, authenticity };
}

/** The backup's signing keys must open with the target's master key. */
async function checkMasterKey(
  backup: OpenBackup,
  { masterKey, key }: RestoreOptions,
): Promise<void> {
  const { manifest } = backup;
  const part = manifest.tables.find((p) => p.table === 'signing_keys');
  if (!part || part.rows === 0) return;
  const kid = part.columns.findIndex((column) => column.name === 'kid');
  const sealed = part.columns.findIndex((column) => column.name === 'private_key_encrypted');
  const mismatch = (detail: string) =>
    new TesseraError(
      BackupErrors.backup_master_key_mismatch,
      `${detail} Tokens and signing keys in backup ${manifest.id} open only with the master key of the deployment it came from: set TESSERA_MASTER_KEY, or copy its master.key into the data directory, then restore again.`,
    );
  if (!masterKey) throw mismatch('No master key is configured for the target.');
  for await (const batch of partRows(backup, part, key)) {
    for (const row of batch) {
      try {
        openSealed(masterKey, String(row[sealed]), String(row[kid]));
      } catch {
        throw mismatch(
          `Signing key ${String(row[kid])} does not open with the target's master key.`,
        );
      }
    }
  }
}

interface TargetState {
  readonly schemaVersion: number;
  /** Known tables holding rows other than those the migrations create. */
  readonly tablesWithData: string[];
}

/**
 * The target's schema version and the known tables holding data. On PostgreSQL the
 * tables are locked first, so no other node's write lands between this look and the
 * load (SQLite's write lock, held by the transaction, already excludes writers).
 */
async function inspectTarget(db: Database, run: RunQuery): Promise<TargetState> {
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

/** Queries inside the restore's transaction. */
function runner(db: Database, trx: AnyKysely): RunQuery {
  if (db.engine === 'sqlite') {
    // Inside db.exclusive, withRaw joins the transaction on its connection.
    return (text, params = []) =>
      db.withRaw((raw) => raw.prepare(text).all(...params) as Record<string, unknown>[]);
  }
  return async (text, params = []) =>
    (await trx.executeQuery(CompiledQuery.raw(text, [...params]))).rows as Record<
      string,
      unknown
    >[];
}

/**
 * For a target migrated past the backup's version: removes every table and function
 * Tessera's migrations made, so they can be made again up to the backup's version.
 */
async function dropTesseraSchema(db: Database, run: RunQuery): Promise<void> {
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

/**
 * The target's shape of every table in the backup: the same tables, each with the
 * same columns (order may differ), or the backup does not fit this schema.
 */
async function matchShapes(
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
async function emptyTables(db: Database, run: RunQuery, tables: string[]): Promise<void> {
  if (db.engine === 'postgres') {
    await run(`TRUNCATE ${tables.map(quoteIdent).join(', ')}`);
    return;
  }
  // Foreign keys are checked at the commit, when every row is back.
  await run('PRAGMA defer_foreign_keys = ON');
  for (const table of [...tables].reverse()) await run(`DELETE FROM ${quoteIdent(table)}`);
}

async function loadParts(
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
