import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { defaultConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { type Database, openDatabase } from '../../src/storage/open-database.ts';

export type StorageConfig = Config['storage'];

export interface TestStorage {
  readonly storage: StorageConfig;
  /** Drops the database (PostgreSQL, even with open connections) or removes the temp dir. */
  cleanup(): Promise<void>;
}

export interface TestDatabase extends TestStorage {
  readonly db: Database;
}

const ADMIN_URL_VARIABLE = 'TESSERA_TEST_DATABASE_URL';

/**
 * SQLite always; PostgreSQL when TESSERA_TEST_DATABASE_URL is set. In CI a missing
 * PostgreSQL is an error, never a silent skip.
 */
export function testEngines(): Engine[] {
  if (process.env[ADMIN_URL_VARIABLE]) return ['sqlite', 'postgres'];
  if (process.env.CI === 'true') {
    throw new Error(
      `${ADMIN_URL_VARIABLE} must be set in CI: the PostgreSQL suites may not be skipped`,
    );
  }
  return ['sqlite'];
}

const DEFAULTS: StorageConfig = defaultConfig().storage;

/** A fresh empty database (nothing opened): for tests that open it themselves, maybe twice. */
export async function testStorageConfig(
  engine: Engine,
  overrides: Partial<StorageConfig> = {},
): Promise<TestStorage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (engine === 'sqlite') {
    return { storage: { ...DEFAULTS, ...overrides, data_dir: dataDir }, cleanup: removeDir };
  }
  const adminUrl = process.env[ADMIN_URL_VARIABLE];
  if (!adminUrl) throw new Error(`${ADMIN_URL_VARIABLE} is not set: no PostgreSQL to test against`);
  const name = `tessera_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    storage: { ...DEFAULTS, ...overrides, data_dir: dataDir, database_url: url.toString() },
    async cleanup() {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await removeDir();
    },
  };
}

/** A fresh database, opened; cleanup closes it first. */
export async function openTestDatabase(
  engine: Engine,
  overrides: Partial<StorageConfig> = {},
): Promise<TestDatabase> {
  const target = await testStorageConfig(engine, overrides);
  let db: Database;
  try {
    db = await openDatabase(target.storage);
  } catch (error) {
    await target.cleanup();
    throw error;
  }
  return {
    db,
    storage: target.storage,
    async cleanup() {
      await db.close();
      await target.cleanup();
    },
  };
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
