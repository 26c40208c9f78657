import { DatabaseSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import type { Engine } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import {
  countRows,
  listTables,
  quoteIdent,
  type RunQuery,
  schemaVersionOf,
  type TableShape,
  tableShape,
} from './catalog.ts';
import { isJsonType } from './tables.ts';

/** Rows handed out at a time: small enough to keep the event loop responsive. */
const BATCH_ROWS = 2000;

/**
 * One consistent, read-only view of the whole database: every read sees exactly the
 * transactions committed before the snapshot began, whatever writers do meanwhile.
 * SQLite: a read transaction on a connection of its own (WAL keeps its view while
 * the server's connection writes). PostgreSQL: a REPEATABLE READ READ ONLY
 * transaction on a pooled connection. Always `close()` it.
 */
export interface Snapshot {
  readonly engine: Engine;
  /** The highest applied migration, 0 when the database was never migrated. */
  readonly schemaVersion: number;
  tables(): Promise<string[]>;
  shape(table: string): Promise<TableShape>;
  /** Rows matching `where` (SQL, from code only), or all. */
  count(table: string, where?: string): Promise<number>;
  /** Every row in primary key order, values in `shape.columns` order; JSON as its text. */
  rows(table: string, shape: TableShape): AsyncIterable<unknown[][]>;
  /** The first row of a query of code's own, as an object (or undefined). */
  first(text: string): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

export async function openSnapshot(db: Database): Promise<Snapshot> {
  return db.engine === 'sqlite' ? openSqliteSnapshot(db.location) : openPostgresSnapshot(db);
}

function selectRows(table: string, shape: TableShape, engine: Engine): string {
  const columns = shape.columns.map((column) =>
    engine === 'postgres' && isJsonType(column.type)
      ? `${quoteIdent(column.name)}::text`
      : quoteIdent(column.name),
  );
  const order = shape.key.length ? ` ORDER BY ${shape.key.map(quoteIdent).join(', ')}` : '';
  return `SELECT ${columns.join(', ')} FROM ${quoteIdent(table)}${order}`;
}

function commonMethods(engine: Engine, run: RunQuery) {
  return {
    tables: () => listTables(engine, run),
    shape: (table: string) => tableShape(engine, run, table),
    count: (table: string, where?: string) => countRows(run, table, where),
    first: async (text: string) => (await run(text))[0],
  };
}

async function openSqliteSnapshot(path: string): Promise<Snapshot> {
  const connection = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
  const run: RunQuery = async (text, params = []) =>
    connection.prepare(text).all(...params) as Record<string, unknown>[];
  try {
    // A deferred transaction takes its snapshot at the first read, the catalog's.
    connection.exec('BEGIN');
    const common = commonMethods('sqlite', run);
    const schemaVersion = await schemaVersionOf(run, await common.tables());
    return {
      engine: 'sqlite',
      schemaVersion,
      ...common,
      async *rows(table, shape) {
        const statement = connection.prepare(selectRows(table, shape, 'sqlite'));
        statement.setReturnArrays(true);
        let batch: unknown[][] = [];
        for (const row of statement.iterate()) {
          batch.push(row as unknown as unknown[]);
          if (batch.length === BATCH_ROWS) {
            yield batch;
            batch = [];
            // node:sqlite reads synchronously: let the server answer requests between batches.
            await yieldToEventLoop();
          }
        }
        if (batch.length) yield batch;
      },
      async close() {
        if (!connection.isOpen) return;
        if (connection.isTransaction) connection.exec('COMMIT');
        connection.close();
      },
    };
  } catch (error) {
    connection.close();
    throw error;
  }
}

async function openPostgresSnapshot(
  db: Extract<Database, { engine: 'postgres' }>,
): Promise<Snapshot> {
  const client: PoolClient = await db.pool.connect();
  const run: RunQuery = async (text, params = []) =>
    (await client.query(text, params as unknown[])).rows as Record<string, unknown>[];
  let cursors = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const common = commonMethods('postgres', run);
    const schemaVersion = await schemaVersionOf(run, await common.tables());
    return {
      engine: 'postgres',
      schemaVersion,
      ...common,
      async *rows(table, shape) {
        const cursor = `tessera_backup_${++cursors}`;
        await client.query(
          `DECLARE ${cursor} NO SCROLL CURSOR FOR ${selectRows(table, shape, 'postgres')}`,
        );
        try {
          for (;;) {
            const result = await client.query({
              text: `FETCH ${BATCH_ROWS} FROM ${cursor}`,
              rowMode: 'array',
            });
            if (result.rows.length === 0) break;
            yield result.rows as unknown[][];
          }
        } finally {
          // Fails only when the transaction already has: the first error is the one to report.
          await client.query(`CLOSE ${cursor}`).catch(() => {});
        }
      },
      async close() {
        try {
          await client.query('COMMIT');
          client.release();
        } catch (error) {
          client.release(error as Error);
        }
      },
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
    throw error;
  }
}
