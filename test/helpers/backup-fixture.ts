import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  backupSigningKey,
  SIGNATURE_NAME,
  type SigningKey,
  signingKey,
  signManifest,
} from '../../src/backup/backup-signature.ts';
import { MANIFEST_NAME, MANIFEST_SUM_NAME } from '../../src/backup/manifest.ts';
import { openBackup, partRows } from '../../src/backup/read-backup.ts';
import { BACKUP_TABLES } from '../../src/backup/tables.ts';
import type { TarEntry } from '../../src/backup/tar.ts';
import type { Config } from '../../src/config/schema.ts';
import { loadMasterKey, MASTER_KEY_FILE } from '../../src/identity/tokens/master-key.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { TableShape } from '../../src/storage/backup/adapter.ts';
import { openBackupAdapter } from '../../src/storage/backup/open-backup-adapter.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import type { Database } from '../../src/storage/open-database.ts';
import { openTestDatabase } from './test-database.ts';

export type Dump = Record<string, string[]>;

/** A fresh, unmigrated database of `engine`, removed after the test. */
export async function emptyDatabase(
  t: TestContext,
  engine: Engine,
): Promise<{ db: Database; storage: Config['storage'] }> {
  const { db, storage, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  return { db, storage };
}

export async function migratedDatabase(t: TestContext, engine: Engine) {
  const opened = await emptyDatabase(t, engine);
  await migrateToLatest(opened.db, MIGRATIONS);
  return opened;
}

/** The master key of a test database's data directory (created on first use). */
export function masterKeyOf(storage: Config['storage']): Buffer {
  return loadMasterKey(storage);
}

/** The key a deployment on `storage` signs its backups with: derived from its master key. */
export function signingKeyOf(storage: Config['storage']): SigningKey {
  return backupSigningKey('', masterKeyOf(storage)) as SigningKey;
}

/** Some signing key, for tests whose backups need one and no deployment's in particular. */
export const TEST_SIGNING_KEY: SigningKey = signingKey(randomBytes(32), 'signing_key');

/** Gives `target` the master key of `source`, as an operator copies master.key. */
export function copyMasterKey(source: Config['storage'], target: Config['storage']): void {
  const key = readFileSync(join(source.data_dir, MASTER_KEY_FILE), 'utf8');
  writeFileSync(join(target.data_dir, MASTER_KEY_FILE), key, { mode: 0o600 });
}

/**
 * Every row of every table, engine-neutral: each row as canonical JSON (columns in
 * name order, JSON columns parsed with their keys sorted), each table's rows sorted.
 */
export async function dumpTables(db: Database): Promise<Dump> {
  const snapshot = await openBackupAdapter(db).openSnapshot();
  try {
    const present = await snapshot.tables();
    const dump: Dump = {};
    for (const table of BACKUP_TABLES) {
      if (!present.includes(table)) continue;
      const shape: TableShape = await snapshot.shape(table);
      const rows: string[] = [];
      for await (const batch of snapshot.rows(table, shape)) {
        for (const row of batch) rows.push(canonicalRow(shape, row));
      }
      dump[table] = rows.sort();
    }
    return dump;
  } finally {
    await snapshot.close();
  }
}

/** JSON held as text: TEXT on SQLite, jsonb on PostgreSQL, whose text differs in spacing and key order. */
const JSON_COLUMNS = new Set(['payload', 'metadata', 'state']);

function canonicalRow(shape: TableShape, row: unknown[]): string {
  const entries = shape.columns.map((column, i) => {
    const value = row[i];
    const json = JSON_COLUMNS.has(column.name) && typeof value === 'string';
    return [column.name, json ? sortKeys(JSON.parse(value)) : value] as const;
  });
  entries.sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(entries));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** Tables whose rows the restore's own audit event (in `$audit:system`) adds to or changes. */
const AUDIT_TOUCHED = new Set(['entities', 'event_types', 'quota_usage']);

/**
 * Asserts that `restored` holds exactly `source`'s rows, apart from what the restore's
 * `backup.restored` audit event added after `head` (the backup's log head).
 */
export function assertRestored(source: Dump, restored: Dump, head: number): void {
  const rowsOf = (dump: Dump, table: string) =>
    (dump[table] ?? []).map((row) => JSON.parse(row) as Record<string, unknown>);
  const keep = (table: string, row: Record<string, unknown>) => {
    if (table === 'events') return Number(row.position) <= head;
    if (table === 'event_commits') return Number(row.first_position) <= head;
    if (AUDIT_TOUCHED.has(table)) return row.tenant_id !== '$audit:system';
    // The restore's audit event moves its partition's chain head on.
    if (table === 'ledger_heads') return row.partition !== '$audit:system';
    return true;
  };
  assert.deepEqual(Object.keys(restored), Object.keys(source));
  for (const table of Object.keys(source)) {
    if (table === 'event_log_head') continue;
    const want = rowsOf(source, table).filter((row) => keep(table, row));
    const have = rowsOf(restored, table).filter((row) => keep(table, row));
    assert.deepEqual(have, want, `table ${table}`);
  }
  assert.equal(rowsOf(restored, 'event_log_head')[0]?.position, head + 1, 'the log head');
}

/** The rows a backup file holds, in the same form as dumpTables. */
export async function dumpBackup(path: string, key?: Buffer): Promise<Dump> {
  const backup = await openBackup(path);
  try {
    const dump: Dump = {};
    for (const part of backup.manifest.tables) {
      const shape: TableShape = { columns: part.columns, key: [] };
      const rows: string[] = [];
      for await (const batch of partRows(backup, part, key)) {
        for (const row of batch) rows.push(canonicalRow(shape, row));
      }
      dump[part.table] = rows.sort();
    }
    return dump;
  } finally {
    await backup.close();
  }
}

/**
 * Rewrites the manifest (and its checksum) of a copy, as a forger would. Its signature
 * stays as it was, unless `resign` signs it again (as one holding the key could: to
 * reach the checks that come after the signature's).
 */
export function forgeManifest(
  path: string,
  copy: string,
  entries: TarEntry[],
  change: (m: Record<string, unknown>) => void,
  resign?: SigningKey,
) {
  const bytes = readFileSync(path);
  const manifestEntry = entries.find((e) => e.name === MANIFEST_NAME) as TarEntry;
  const text = bytes
    .subarray(manifestEntry.offset, manifestEntry.offset + manifestEntry.size)
    .toString();
  const manifest = JSON.parse(text) as Record<string, unknown>;
  change(manifest);
  // Same length, so the tar layout stays valid: compact JSON padded with spaces.
  let forged = JSON.stringify(manifest);
  assert.ok(forged.length <= text.length, 'the forged manifest fits');
  forged = `${forged.padEnd(text.length - 1, ' ')}\n`;
  Buffer.from(forged).copy(bytes, manifestEntry.offset);
  const sumEntry = entries.find((e) => e.name === MANIFEST_SUM_NAME) as TarEntry;
  const sum = createHash('sha256').update(forged).digest('hex');
  Buffer.from(`${sum}\n`).copy(bytes, sumEntry.offset);
  if (resign) {
    const signatureEntry = entries.find((e) => e.name === SIGNATURE_NAME) as TarEntry;
    signManifest(resign, Buffer.from(forged)).copy(bytes, signatureEntry.offset);
  }
  writeFileSync(copy, bytes);
}

/**
 * Checkpoints every chain of the app's database now, as its background job would. A
 * chain without a checkpoint is due at once, so without this the job could sign one
 * between a backup and the comparison of its restore with the source; after it,
 * nothing is due until the source's chains move.
 */
export async function checkpointEveryChain(app: {
  readonly services: {
    readonly ledger: { readonly checkpointScheduler: { tick(): Promise<unknown> } };
  };
}): Promise<void> {
  await app.services.ledger.checkpointScheduler.tick();
}
