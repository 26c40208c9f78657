import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely } from 'kysely';
import type { Config } from '../../config/schema.ts';
import type { ByEngine } from '../by-engine.ts';
import type { AnyKysely, Capabilities, DatabaseBase } from '../database.ts';
import { pingWithin } from '../ping-within.ts';
import { beginImmediate } from './begin-immediate.ts';
import { ConnectionLock } from './connection-lock.ts';
import { createSqliteChangeFeed } from './sqlite-change-feed.ts';
import { NodeSqliteDialect } from './sqlite-dialect.ts';

export interface SqliteDatabase extends DatabaseBase, ByEngine {
  readonly engine: 'sqlite';
  /**
   * Runs `fn` with the raw connection while holding the lock Kysely also uses, so
   * nothing else runs on the connection meanwhile. Inside `transaction(fn)` of this
   * handle it joins that transaction instead of waiting. A transaction `fn` opens
   * must be closed by `fn`: one left open is rolled back and reported as an error.
   */
  withRaw<T>(fn: (raw: DatabaseSync) => T | Promise<T>): Promise<T>;
  /** `withRaw` inside `BEGIN IMMEDIATE` ... `COMMIT` (rolled back if `fn` throws). */
  withRawTransaction<T>(fn: (raw: DatabaseSync) => T | Promise<T>): Promise<T>;
  /**
   * A number that changes whenever another connection (another process: the CLI, a
   * second server) commits to the file, and never for this handle's own commits.
   * Synchronous and outside the lock, so it costs no wait: read inside a transaction
   * in progress on this handle, it reports what that transaction began with.
   */
  dataVersion(): number;
}

export const SQLITE_CAPABILITIES: Capabilities = Object.freeze({
  concurrentWriters: false,
  transactionalDdl: true,
  nativeJson: false,
});

export const SQLITE_FILE_NAME = 'tessera.db';

type SqliteStorage = Pick<
  Config['storage'],
  'data_dir' | 'sqlite_synchronous' | 'sqlite_busy_timeout_ms'
>;

export async function openSqlite(storage: SqliteStorage): Promise<SqliteDatabase> {
  const path = join(resolve(storage.data_dir), SQLITE_FILE_NAME);
  const raw = openFile(path, storage);
  const busyTimeoutMs = storage.sqlite_busy_timeout_ms;
  const lock = new ConnectionLock();
  const kysely: AnyKysely = new Kysely({
    dialect: new NodeSqliteDialect({ raw, lock, busyTimeoutMs }),
  });
  let closing: Promise<void> | undefined;
  let dataVersion: ReturnType<DatabaseSync['prepare']> | undefined;

  function openRaw(): DatabaseSync {
    if (!raw.isOpen) throw new Error('the SQLite database is closed');
    return raw;
  }

  async function withRaw<T>(fn: (raw: DatabaseSync) => T | Promise<T>): Promise<T> {
    if (lock.heldHere()) return await fn(openRaw());
    const release = await lock.acquire();
    try {
      return await lock.hold(async () => {
        const result = await fn(openRaw());
        if (raw.isTransaction) {
          raw.exec('ROLLBACK');
          throw new Error('withRaw returned with a transaction still open: it was rolled back');
        }
        return result;
      });
    } catch (error) {
      if (raw.isOpen && raw.isTransaction) raw.exec('ROLLBACK');
      throw error;
    } finally {
      release();
    }
  }

  const transaction = <T>(fn: (trx: AnyKysely) => Promise<T>): Promise<T> =>
    kysely.transaction().execute((trx) => lock.hold(() => fn(trx)));

  function readDataVersion(): number {
    dataVersion ??= openRaw().prepare('PRAGMA data_version');
    return Number(dataVersion.get()?.data_version);
  }
  const changes = createSqliteChangeFeed(readDataVersion);

  const db: SqliteDatabase = {
    engine: 'sqlite',
    capabilities: SQLITE_CAPABILITIES,
    kysely,
    location: path,
    transaction,
    // BEGIN IMMEDIATE already is the deployment-wide write lock: one writer per file.
    exclusive: transaction,
    withRaw,
    withRawTransaction: (fn) =>
      withRaw(async (connection) => {
        if (connection.isTransaction) return await fn(connection);
        await beginImmediate(connection, busyTimeoutMs);
        try {
          const result = await fn(connection);
          connection.exec('COMMIT');
          return result;
        } catch (error) {
          if (connection.isTransaction) connection.exec('ROLLBACK');
          throw error;
        }
      }),
    dataVersion: readDataVersion,
    changes,
    ping: (timeoutMs = 2000) =>
      pingWithin(() => withRaw((connection) => connection.prepare('SELECT 1').get()), timeoutMs),
    close() {
      closing ??= (async () => {
        await changes.close();
        // Under the lock, so a transaction in progress finishes before the file closes.
        const release = await lock.acquire();
        try {
          if (raw.isOpen) raw.close();
        } finally {
          release();
        }
        await kysely.destroy();
      })();
      return closing;
    },
    byEngine: (choices) => choices.sqlite(db),
  };
  return db;
}

function openFile(path: string, storage: SqliteStorage): DatabaseSync {
  // 0700/0600: the database holds password hashes and token digests.
  mkdirSync(storage.data_dir, { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  const raw = new DatabaseSync(path, { timeout: storage.sqlite_busy_timeout_ms });
  try {
    raw.exec(`PRAGMA busy_timeout = ${Math.trunc(storage.sqlite_busy_timeout_ms)}`);
    const mode = raw.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
    if (mode !== 'wal')
      throw new Error(`SQLite refused WAL mode for ${path} (journal_mode is ${String(mode)})`);
    raw.exec(`PRAGMA synchronous = ${synchronousLevel(storage.sqlite_synchronous)}`);
    raw.exec('PRAGMA foreign_keys = ON');
    return raw;
  } catch (error) {
    raw.close();
    throw error;
  }
}

// Checked here too: the value is interpolated into a PRAGMA.
function synchronousLevel(value: unknown): string {
  if (value === 'normal' || value === 'full' || value === 'extra') return value.toUpperCase();
  throw new Error(
    `storage.sqlite_synchronous must be "normal", "full" or "extra", got ${JSON.stringify(value)}`,
  );
}
