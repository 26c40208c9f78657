import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { beginImmediate } from './begin-immediate.ts';
import type { ConnectionLock } from './connection-lock.ts';

export interface NodeSqliteDialectConfig {
  readonly raw: DatabaseSync;
  readonly lock: ConnectionLock;
  /** How long `BEGIN IMMEDIATE` waits for another process's write lock. */
  readonly busyTimeoutMs: number;
}

/** Kysely over `node:sqlite`: its SQLite compiler and adapter, our driver. */
export class NodeSqliteDialect implements Dialect {
  readonly #config: NodeSqliteDialectConfig;

  constructor(config: NodeSqliteDialectConfig) {
    this.#config = config;
  }

  createDriver(): Driver {
    return new NodeSqliteDriver(this.#config);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class NodeSqliteDriver implements Driver {
  readonly #config: NodeSqliteDialectConfig;
  readonly #connection: NodeSqliteConnection;
  #release: (() => void) | undefined;

  constructor(config: NodeSqliteDialectConfig) {
    this.#config = config;
    this.#connection = new NodeSqliteConnection(config.raw);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#config.lock.acquire();
    if (!this.#config.raw.isOpen) {
      release();
      throw new Error('the SQLite database is closed');
    }
    this.#release = release;
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async beginTransaction(): Promise<void> {
    await beginImmediate(this.#config.raw, this.#config.busyTimeoutMs);
  }

  async commitTransaction(): Promise<void> {
    this.#config.raw.exec('COMMIT');
  }

  async rollbackTransaction(): Promise<void> {
    // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) already rolled back; a second
    // ROLLBACK would fail and replace the caller's original error.
    if (this.#config.raw.isTransaction) this.#config.raw.exec('ROLLBACK');
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#config.raw.exec(`SAVEPOINT ${quoteIdentifier(name)}`);
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#config.raw.exec(`ROLLBACK TO ${quoteIdentifier(name)}`);
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#config.raw.exec(`RELEASE ${quoteIdentifier(name)}`);
  }

  // The handle that opened the file closes it, under the lock (see open-sqlite.ts).
  async destroy(): Promise<void> {}
}

const STATEMENT_CACHE_SIZE = 100;

class NodeSqliteConnection implements DatabaseConnection {
  readonly #raw: DatabaseSync;
  // Kysely compiles a query shape to the same SQL every time; preparing it once saves
  // the parse on every call. A Map keeps insertion order, which makes it a cheap LRU.
  readonly #statements = new Map<string, StatementSync>();

  constructor(raw: DatabaseSync) {
    this.#raw = raw;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters.map(toSqliteValue);
    if (statement.columns().length > 0) {
      return { rows: statement.all(...parameters) as R[] };
    }
    const { changes, lastInsertRowid } = statement.run(...parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Not from the cache: a statement being iterated must not be reset by a query
    // that happens to reuse its SQL in the meantime.
    const statement = this.#raw.prepare(compiledQuery.sql);
    for (const row of statement.iterate(...compiledQuery.parameters.map(toSqliteValue))) {
      yield { rows: [row as R] };
    }
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement) {
      this.#statements.delete(sql);
    } else {
      statement = this.#raw.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}

/**
 * Booleans become 0/1 (SQLite has no boolean type). Anything else `node:sqlite` cannot
 * store is refused here: given a plain object or a Date it would treat the value as a
 * map of named parameters and silently bind NULL.
 */
export function toSqliteValue(value: unknown, index: number): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (
    value === null ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'string' ||
    ArrayBuffer.isView(value)
  ) {
    return value as SQLInputValue;
  }
  const kind = value instanceof Date ? 'a Date' : typeof value;
  throw new TypeError(
    `SQLite parameter ${index + 1} is ${kind}: pass a string, number, bigint, boolean, null or bytes`,
  );
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
