import type { PoolClient } from 'pg';
import type { PostgresDatabase } from '../postgres/open-postgres.ts';
import type { RunQuery, Snapshot } from './adapter.ts';
import {
  BATCH_ROWS,
  catalogOn,
  isJsonType,
  quoteIdent,
  schemaVersionOf,
  selectRows,
} from './catalog.ts';
import { POSTGRES_CATALOG } from './postgres-catalog.ts';

/** JSON columns are read as their text, as SQLite holds them. */
const asText = (name: string, type: string) =>
  isJsonType(type) ? `${quoteIdent(name)}::text` : quoteIdent(name);

/** A REPEATABLE READ READ ONLY transaction on a pooled connection. */
export async function openPostgresSnapshot(db: PostgresDatabase): Promise<Snapshot> {
  const client: PoolClient = await db.pool.connect();
  const run: RunQuery = async (text, params = []) =>
    (await client.query(text, params as unknown[])).rows as Record<string, unknown>[];
  let cursors = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const catalog = catalogOn(run, POSTGRES_CATALOG);
    const schemaVersion = await schemaVersionOf(catalog, await catalog.tables());
    return {
      schemaVersion,
      ...catalog,
      async *rows(table, shape) {
        const cursor = `tessera_backup_${++cursors}`;
        await client.query(
          `DECLARE ${cursor} NO SCROLL CURSOR FOR ${selectRows(table, shape, asText)}`,
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
