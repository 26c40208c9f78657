import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { backupAdapterContract } from './backup/backup-adapter.contract.ts';
import { type FreshStorage, fixture, gate } from './contract-fixture.ts';
import type { AnyKysely, Engine } from './database.ts';
import { migrationContract } from './migrate.contract.ts';
import { parameterContract } from './parameter.contract.ts';

export type { FreshStorage } from './contract-fixture.ts';

async function createItems(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable('items')
    .addColumn('id', 'integer', (column) => column.primaryKey())
    .addColumn('label', 'text', (column) => column.notNull())
    .execute();
}

async function labels(db: AnyKysely): Promise<string[]> {
  const rows = await db.selectFrom('items').select('label').orderBy('id').execute();
  return rows.map((row) => row.label);
}

/** What every storage engine must do; run by database.contract.test.ts for each engine. */
export function databaseContract(engine: Engine, freshStorage: FreshStorage): void {
  describe(`database contract (${engine})`, () => {
    it('reports its engine and a location', async (t) => {
      const { db } = await fixture(t, freshStorage);
      assert.equal(db.engine, engine);
      assert.ok(db.location.length > 0);
      assert.equal(db.capabilities.transactionalDdl, true);
      assert.equal(db.capabilities.concurrentWriters, engine === 'postgres');
    });

    it('hands its own handle to the branch of its engine, and only that one', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const called: string[] = [];
      const chosen = db.byEngine<{ handle: unknown; raw: string }>({
        sqlite: (handle) => {
          called.push('sqlite');
          return { handle, raw: typeof handle.withRaw };
        },
        postgres: (handle) => {
          called.push('postgres');
          return { handle, raw: typeof handle.pool.query };
        },
      });
      assert.deepEqual(called, [engine]);
      assert.equal(chosen.handle, db);
      assert.equal(chosen.raw, 'function', 'the branch can use its engine’s raw handle');
    });

    it('commits a transaction and returns its result', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      await createItems(db.kysely);
      const result = await db.transaction(async (trx) => {
        await trx.insertInto('items').values({ id: 1, label: 'one' }).execute();
        await trx.insertInto('items').values({ id: 2, label: 'two' }).execute();
        return 'done';
      });
      assert.equal(result, 'done');
      assert.deepEqual(
        await labels((await open()).kysely),
        ['one', 'two'],
        'visible to another handle',
      );
    });

    it('rolls back when the callback throws and rethrows the very same error', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createItems(db.kysely);
      const boom = new Error('boom');
      await assert.rejects(
        db.transaction(async (trx) => {
          await trx.insertInto('items').values({ id: 1, label: 'lost' }).execute();
          throw boom;
        }),
        (error) => error === boom,
      );
      assert.deepEqual(await labels(db.kysely), []);
      await db.transaction((trx) =>
        trx.insertInto('items').values({ id: 2, label: 'kept' }).execute(),
      );
      assert.deepEqual(await labels(db.kysely), ['kept'], 'the handle is usable after a rollback');
    });

    it('loses no update when two handles increment concurrently', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      await sql`CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL)`.execute(
        db.kysely,
      );
      await sql`INSERT INTO counter (id, n) VALUES (1, 0)`.execute(db.kysely);
      const increment = (handle: typeof db) =>
        handle.transaction(async (trx) => {
          await yieldToLoop(); // let the other transactions start meanwhile
          await sql`UPDATE counter SET n = n + 1 WHERE id = 1`.execute(trx);
        });
      await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 === 0 ? db : other)));
      const { rows } = await sql<{ n: number }>`SELECT n FROM counter WHERE id = 1`.execute(
        db.kysely,
      );
      assert.equal(rows[0]?.n, 40);
    });

    it('runs exclusive sections one at a time, even across handles', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      const events: string[] = [];
      const release = gate();
      const first = db.exclusive(async () => {
        events.push('first in');
        await release.opened;
        events.push('first out');
      });
      while (events.length === 0) await yieldToLoop();
      const second = other.exclusive(async () => {
        events.push('second in');
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(events, ['first in'], 'the second waits for the lock');
      } finally {
        release.open();
        await Promise.all([first, second]);
      }
      assert.deepEqual(events, ['first in', 'first out', 'second in']);
    });

    it('pings true, false once the connection is busy past the timeout, then true again', async (t) => {
      const { db } = await fixture(t, freshStorage, { pool_max: 1 });
      assert.equal(await db.ping(), true);
      const release = gate();
      const held = db.transaction(() => release.opened);
      await yieldToLoop();
      try {
        assert.equal(await db.ping(100), false);
      } finally {
        release.open();
        await held;
      }
      assert.equal(await db.ping(), true);
    });

    it('pings false after close, closes twice safely and refuses queries once closed', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await db.close();
      await db.close();
      assert.equal(await db.ping(), false);
      await assert.rejects(sql`SELECT 1`.execute(db.kysely));
      await assert.rejects(db.transaction(async () => 1));
    });

    parameterContract(engine, freshStorage);
    backupAdapterContract(engine, freshStorage);
  });
  migrationContract(engine, freshStorage);
}
