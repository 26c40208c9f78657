import { CompiledQuery } from 'kysely';
import type { PostgresDatabase } from '../postgres/open-postgres.ts';
import type { BackupAdapter, RestoreTarget, RunQuery } from './adapter.ts';
import { catalogOn, quoteIdent } from './catalog.ts';
import { POSTGRES_CATALOG } from './postgres-catalog.ts';
import { openPostgresSnapshot } from './postgres-snapshot.ts';

/** Backup and restore on PostgreSQL. */
export function createPostgresBackup(db: PostgresDatabase): BackupAdapter {
  return {
    openSnapshot: () => openPostgresSnapshot(db),
    async restore(fn) {
      const result = await db.exclusive((trx) => fn(restoreTarget(trx)));
      // Fresh statistics, so the planner knows the tables are no longer empty.
      await db.pool.query('ANALYZE');
      return result;
    },
  };
}

function restoreTarget(trx: RestoreTarget['trx']): RestoreTarget {
  const run: RunQuery = async (text, params = []) =>
    (await trx.executeQuery(CompiledQuery.raw(text, [...params]))).rows as Record<
      string,
      unknown
    >[];
  const list = (tables: readonly string[]) => tables.map(quoteIdent).join(', ');
  return {
    ...catalogOn(run, POSTGRES_CATALOG),
    trx,
    // Until the commit, no other node's write lands between a look at the tables and the load.
    async lock(tables) {
      if (tables.length) await run(`LOCK TABLE ${list(tables)} IN ACCESS EXCLUSIVE MODE`);
    },
    async drop(tables) {
      if (tables.length) await run(`DROP TABLE ${list(tables)} CASCADE`);
      const functions = await run(
        `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
          WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'tessera\\_%'`,
      );
      for (const row of functions) await run(`DROP FUNCTION ${String(row.signature)}`);
    },
    async empty(tables) {
      await run(`TRUNCATE ${list(tables)}`);
    },
    // One INSERT ... SELECT FROM unnest(...) per batch, each column an array of the
    // target's type (which also turns JSON text into jsonb).
    inserter(table, columns, shape) {
      const types = columns.map(
        (column) => shape.columns.find((target) => target.name === column.name)?.type as string,
      );
      const names = columns.map((column) => quoteIdent(column.name)).join(', ');
      const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
      const text = `INSERT INTO ${quoteIdent(table)} (${names}) SELECT * FROM unnest(${arrays})`;
      return async (rows) => {
        const values = columns.map((_, i) => rows.map((row) => row[i]));
        await run(text, values as never);
      };
    },
  };
}
