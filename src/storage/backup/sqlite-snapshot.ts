import { DatabaseSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { RunQuery, Snapshot } from './adapter.ts';
import { BATCH_ROWS, catalogOn, schemaVersionOf, selectRows } from './catalog.ts';
import { SQLITE_CATALOG } from './sqlite-catalog.ts';

/**
 * A read transaction on a connection of its own: WAL keeps its view while the
 * server's connection writes.
 */
export async function openSqliteSnapshot(path: string): Promise<Snapshot> {
  const connection = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
  const run: RunQuery = async (text, params = []) =>
    connection.prepare(text).all(...params) as Record<string, unknown>[];
  try {
    // A deferred transaction takes its snapshot at the first read, the catalog's.
    connection.exec('BEGIN');
    const catalog = catalogOn(run, SQLITE_CATALOG);
    const schemaVersion = await schemaVersionOf(catalog, await catalog.tables());
    return {
      schemaVersion,
      ...catalog,
      async *rows(table, shape) {
        const statement = connection.prepare(selectRows(table, shape));
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
