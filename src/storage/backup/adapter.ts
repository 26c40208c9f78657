import type { AnyKysely, Engine } from '../database.ts';

/** Runs one statement and returns its rows as objects: a snapshot's connection or a transaction. */
export type RunQuery = (
  text: string,
  params?: readonly (string | number)[],
) => Promise<Record<string, unknown>[]>;

export interface Column {
  readonly name: string;
  /** The type as the source engine declares it (`INTEGER`, `bigint`, `jsonb`, ...). */
  readonly type: string;
}

export interface TableShape {
  readonly columns: readonly Column[];
  /** Primary key columns, in key order: rows are written in this order. */
  readonly key: readonly string[];
}

/** What a backup reads of the database's tables, from a snapshot or inside the restore. */
export interface Catalog {
  /** The user tables of the database (the engine's own excluded), in no particular order. */
  tables(): Promise<string[]>;
  /** Columns in declaration order with their declared types, and the primary key. */
  shape(table: string): Promise<TableShape>;
  /** Rows matching `where` (SQL, from code only, never from input), or all. */
  count(table: string, where?: string): Promise<number>;
  /** The first row of a query of code's own, as an object (or undefined). */
  first(text: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * One consistent, read-only view of the whole database: every read sees exactly the
 * transactions committed before the snapshot began, whatever writers do meanwhile.
 * Always `close()` it.
 */
export interface Snapshot extends Catalog {
  /** The highest applied migration, 0 when the database was never migrated. */
  readonly schemaVersion: number;
  /** Every row in primary key order, values in `shape.columns` order; JSON as its text. */
  rows(table: string, shape: TableShape): AsyncIterable<unknown[][]>;
  close(): Promise<void>;
}

/** The database being restored into, inside the restore's one transaction. */
export interface RestoreTarget extends Catalog {
  /** The restore's transaction, for the migrations and the audit event it runs. */
  readonly trx: AnyKysely;
  /** Keeps every other writer off these tables until the commit. */
  lock(tables: readonly string[]): Promise<void>;
  /** Drops these tables (children first) and every function Tessera's migrations made. */
  drop(tables: readonly string[]): Promise<void>;
  /** Removes every row of these tables (parents first); foreign keys hold again at the commit. */
  empty(tables: readonly string[]): Promise<void>;
  /**
   * Inserts rows given in `columns` order (a backup's, with `source`'s declared
   * types) into `table`, whose shape on this database is `shape`; JSON is stored as
   * this engine stores it.
   */
  inserter(
    table: string,
    columns: readonly Column[],
    shape: TableShape,
    source: Engine,
  ): (rows: unknown[][]) => Promise<void>;
}

/** What backup and restore need of an engine (open-backup-adapter.ts picks one). */
export interface BackupAdapter {
  openSnapshot(): Promise<Snapshot>;
  /**
   * Runs `fn` in one transaction holding the schema lock (`exclusive`): committed
   * when it resolves, rolled back when it throws. Afterwards the engine is told
   * its tables changed wholesale (fresh planner statistics).
   */
  restore<T>(fn: (target: RestoreTarget) => Promise<T>): Promise<T>;
}
