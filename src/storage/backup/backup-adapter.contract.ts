import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { type FreshStorage, fixture } from '../contract-fixture.ts';
import type { AnyKysely, Engine } from '../database.ts';
import type { Snapshot } from './adapter.ts';
import { openBackupAdapter } from './open-backup-adapter.ts';

async function createItems(db: AnyKysely, rows: readonly [number, string][]): Promise<void> {
  await sql`CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL)`.execute(db);
  for (const [id, label] of rows) {
    await sql`INSERT INTO items (id, label) VALUES (${id}, ${label})`.execute(db);
  }
}

async function allRows(snapshot: Snapshot, table: string): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const batch of snapshot.rows(table, await snapshot.shape(table))) rows.push(...batch);
  return rows;
}

async function itemsNow(db: { kysely: AnyKysely }) {
  const { rows } = await sql<{ id: number; label: string }>`
    SELECT id, label FROM items ORDER BY id`.execute(db.kysely);
  return rows.map((row) => [Number(row.id), row.label]);
}

/** What backup and restore need of every engine; run by database.contract.ts. */
export function backupAdapterContract(engine: Engine, freshStorage: FreshStorage): void {
  describe('backup adapter', () => {
    it('snapshots what was committed before it, rows in key order', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createItems(db.kysely, [
        [2, 'two'],
        [1, 'one'],
      ]);
      const snapshot = await openBackupAdapter(db).openSnapshot();
      try {
        await sql`INSERT INTO items (id, label) VALUES (3, 'later')`.execute(db.kysely);
        assert.equal(snapshot.schemaVersion, 0, 'never migrated');
        assert.ok((await snapshot.tables()).includes('items'));
        const shape = await snapshot.shape('items');
        assert.deepEqual(
          shape.columns.map((column) => column.name),
          ['id', 'label'],
        );
        assert.deepEqual(shape.key, ['id']);
        assert.equal(await snapshot.count('items'), 2);
        assert.equal(await snapshot.count('items', 'id > 1'), 1);
        assert.deepEqual(await allRows(snapshot, 'items'), [
          [1, 'one'],
          [2, 'two'],
        ]);
        assert.equal(Number((await snapshot.first('SELECT max(id) AS top FROM items'))?.top), 2);
      } finally {
        await snapshot.close();
      }
    });

    it('restores in one transaction: all of it, or nothing when it fails', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createItems(db.kysely, [[1, 'old']]);
      const adapter = openBackupAdapter(db);
      const load = (fail: boolean) =>
        adapter.restore(async (target) => {
          await target.lock(['items']);
          await target.empty(['items']);
          // The backup's column order need not be the table's.
          const columns = [
            { name: 'label', type: 'text' },
            { name: 'id', type: 'integer' },
          ];
          const insert = target.inserter('items', columns, await target.shape('items'), engine);
          await insert([
            ['five', 5],
            ['six', 6],
          ]);
          assert.equal(await target.count('items'), 2, 'the target sees its own load');
          if (fail) throw new Error('the load failed');
        });
      await assert.rejects(load(true), /the load failed/);
      assert.deepEqual(await itemsNow(db), [[1, 'old']]);
      await load(false);
      assert.deepEqual(await itemsNow(db), [
        [5, 'five'],
        [6, 'six'],
      ]);
    });

    it('drops tables inside the restore', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createItems(db.kysely, [[1, 'one']]);
      await openBackupAdapter(db).restore(async (target) => {
        await target.drop(['items']);
        assert.equal((await target.tables()).includes('items'), false);
      });
      const snapshot = await openBackupAdapter(db).openSnapshot();
      const tables = await snapshot.tables();
      await snapshot.close();
      assert.equal(tables.includes('items'), false);
    });

    it('reads JSON as text and stores JSON from PostgreSQL as this engine does', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const type = engine === 'postgres' ? 'jsonb' : 'TEXT';
      await sql
        .raw(`CREATE TABLE docs (id integer PRIMARY KEY, body ${type} NOT NULL)`)
        .execute(db.kysely);
      const adapter = openBackupAdapter(db);
      await adapter.restore(async (target) => {
        const columns = [
          { name: 'id', type: 'integer' },
          { name: 'body', type: 'jsonb' },
        ];
        await target.inserter(
          'docs',
          columns,
          await target.shape('docs'),
          'postgres',
        )([[1, '{"b": [1, 2], "a": "x"}']]);
      });
      const snapshot = await adapter.openSnapshot();
      const rows = await allRows(snapshot, 'docs').finally(() => snapshot.close());
      // PostgreSQL's own text of jsonb (keys sorted by length, spaced); SQLite's compact.
      const text = engine === 'postgres' ? '{"a": "x", "b": [1, 2]}' : '{"b":[1,2],"a":"x"}';
      assert.deepEqual(rows, [[1, text]]);
    });
  });
}
