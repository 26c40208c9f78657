import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migratedDatabase } from '../../test/helpers/backup-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { openBackupAdapter } from '../storage/backup/open-backup-adapter.ts';
import { BACKUP_TABLES, LEDGER_TABLE } from './tables.ts';

for (const engine of testEngines()) {
  describe(`backup tables (${engine})`, () => {
    it('are exactly the tables the migrations create, besides the ledger', async (t) => {
      const { db } = await migratedDatabase(t, engine);
      const snapshot = await openBackupAdapter(db).openSnapshot();
      const tables = await snapshot.tables();
      await snapshot.close();
      const present = tables.filter((name) => name !== LEDGER_TABLE);
      assert.deepEqual([...present].sort(), [...BACKUP_TABLES].sort());
    });

    it('list every parent before the tables that reference it', async (t) => {
      const { db } = await migratedDatabase(t, engine);
      type Rows = Promise<Record<string, unknown>[]>;
      const run = (text: string, params: readonly (string | number)[] = []) =>
        db.byEngine<Rows>({
          sqlite: (sqlite) =>
            sqlite.withRaw((raw) => raw.prepare(text).all(...params) as Record<string, unknown>[]),
          postgres: async (postgres) =>
            (await postgres.pool.query(text, [...params])).rows as Record<string, unknown>[],
        });
      let references = 0;
      for (const [index, table] of BACKUP_TABLES.entries()) {
        const parents =
          engine === 'sqlite'
            ? (
                await run('SELECT DISTINCT "table" AS parent FROM pragma_foreign_key_list(?)', [
                  table,
                ])
              ).map((row) => String(row.parent))
            : (
                await run(
                  `SELECT DISTINCT confrelid::regclass::text AS parent FROM pg_constraint
                    WHERE contype = 'f' AND conrelid = to_regclass($1)`,
                  [table],
                )
              ).map((row) => String(row.parent));
        for (const parent of parents) {
          if (parent === table) continue;
          references += 1;
          assert.ok(
            BACKUP_TABLES.indexOf(parent) < index,
            `${table} references ${parent}, which must come first`,
          );
        }
      }
      assert.ok(references > 0, 'the catalog query found the foreign keys');
    });
  });
}
