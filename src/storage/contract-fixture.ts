import type { TestContext } from 'node:test';
import type { Config } from '../config/schema.ts';
import { type Database, openDatabase } from './open-database.ts';

type StorageConfig = Config['storage'];

/** Creates an empty database (PostgreSQL) or data dir (SQLite); `cleanup` removes it. */
export type FreshStorage = (
  overrides?: Partial<StorageConfig>,
) => Promise<{ readonly storage: StorageConfig; cleanup(): Promise<void> }>;

export interface Fixture {
  readonly db: Database;
  readonly storage: StorageConfig;
  /** Another handle on the same database, as a second node or the CLI would have. */
  open(): Promise<Database>;
}

/** A fresh database for one test, with every handle closed and the database removed after it. */
export async function fixture(
  t: TestContext,
  freshStorage: FreshStorage,
  overrides: Partial<StorageConfig> = {},
): Promise<Fixture> {
  const target = await freshStorage(overrides);
  const handles: Database[] = [];
  t.after(async () => {
    for (const handle of handles) await handle.close();
    await target.cleanup();
  });
  const open = async () => {
    const db = await openDatabase(target.storage);
    handles.push(db);
    return db;
  };
  return { db: await open(), storage: target.storage, open };
}

/** A promise plus its resolver, to hold a transaction open until the test says so. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
