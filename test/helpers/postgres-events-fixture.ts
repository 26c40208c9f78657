import type { TestContext } from 'node:test';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { openDatabase, type PostgresDatabase } from '../../src/storage/open-database.ts';
import { testEngines, testStorageConfig } from './test-database.ts';

/** Skip reason for the PostgreSQL-only suites; in CI testEngines() throws rather than skip. */
export const skipWithoutPostgres = testEngines().includes('postgres')
  ? false
  : 'TESSERA_TEST_DATABASE_URL is not set';

export interface PostgresFixture {
  /** The first handle, on a freshly migrated database. */
  readonly db: PostgresDatabase;
  /** Another handle (its own pool) on the same database, as a second Tessera node has. */
  open(): Promise<PostgresDatabase>;
}

/** A fresh migrated database for one test; every handle is closed and the database dropped after it. */
export async function postgresFixture(t: TestContext): Promise<PostgresFixture> {
  const target = await testStorageConfig('postgres');
  const handles: PostgresDatabase[] = [];
  t.after(async () => {
    for (const handle of handles) await handle.close();
    await target.cleanup();
  });
  const open = async () => {
    const db = await openDatabase(target.storage);
    if (db.engine !== 'postgres') throw new Error('expected a PostgreSQL handle');
    handles.push(db);
    return db;
  };
  const db = await open();
  await migrateToLatest(db, MIGRATIONS);
  return { db, open };
}
