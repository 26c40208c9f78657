import type { Kysely } from 'kysely';
import type { ChangeFeed } from './change-feed.ts';

/** The engines Tessera runs on; a backup manifest names one of them. */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/**
 * What differs between engines, as flags a store can read instead of testing the
 * engine name (Kysely's approach). Add a flag when a store needs a difference.
 */
export interface Capabilities {
  /** Several processes may write at the same time (PostgreSQL), versus one writer at a time (SQLite). */
  readonly concurrentWriters: boolean;
  /** DDL runs inside a transaction and rolls back with it. */
  readonly transactionalDdl: boolean;
  /** Native JSON column type (`jsonb`); otherwise JSON is stored as TEXT. */
  readonly nativeJson: boolean;
}

/** Control-plane tables are typed per domain; the handle itself is schema-agnostic. */
// biome-ignore lint/suspicious/noExplicitAny: the database handle serves every domain's schema
export type AnyKysely = Kysely<any>;

/**
 * The one way into the database. Domains use `kysely` for control-plane queries and
 * `transaction` for atomic changes; engine-specific hot paths use the adapter's raw
 * handle (`SqliteDatabase.withRaw`, `PostgresDatabase.pool`), reached through
 * `byEngine` (by-engine.ts) so that no code outside `storage/` tests the engine.
 */
export interface DatabaseBase {
  readonly engine: Engine;
  readonly capabilities: Capabilities;
  readonly kysely: AnyKysely;
  /** Runs `fn` in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (trx: AnyKysely) => Promise<T>): Promise<T>;
  /**
   * A transaction that also holds the deployment-wide schema lock, so only one
   * process at a time runs it (migrations). SQLite: the write lock; PostgreSQL: an
   * advisory transaction lock.
   */
  exclusive<T>(fn: (trx: AnyKysely) => Promise<T>): Promise<T>;
  /** True when a trivial query succeeds within `timeoutMs`. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Safe to call twice. */
  close(): Promise<void>;
  /** Human-readable location for logs, with any password removed. */
  readonly location: string;
  /** What node-local caches follow to hear of changes (change-feed.ts); closed with the handle. */
  readonly changes: ChangeFeed;
}
