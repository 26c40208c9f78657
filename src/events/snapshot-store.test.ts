import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { createSnapshotStore, type NewSnapshot } from './snapshot-store.ts';

const T0 = Date.UTC(2025, 0, 1);
const CREATED = Date.UTC(2025, 5, 1, 12, 0, 0, 123);

async function migrated(t: TestContext, engine: Engine): Promise<Database> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  return test.db;
}

const snapshotAt = (version: number, state: unknown = { v: version }): NewSnapshot => ({
  entity_id: 'order-1',
  version,
  position: 1000 + version,
  time_ms: T0 + version * 1000,
  state,
});

for (const engine of testEngines()) {
  describe(`snapshot store (${engine})`, () => {
    it('saves and returns the newest snapshot with its timestamps', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine), () => CREATED);
      assert.equal(await store.latestSnapshot('acme', 'order-1'), undefined);
      assert.equal(await store.saveSnapshot('acme', snapshotAt(4)), true);
      assert.equal(await store.saveSnapshot('acme', snapshotAt(9)), true);
      assert.equal(await store.saveSnapshot('acme', snapshotAt(2)), true);
      assert.deepEqual(await store.latestSnapshot('acme', 'order-1'), {
        entity_id: 'order-1',
        version: 9,
        position: 1009,
        timestamp: '2025-01-01T00:00:09.000Z',
        created_at: '2025-06-01T12:00:00.123Z',
        state: { v: 9 },
      });
      assert.equal(await store.latestSnapshot('acme', 'order-2'), undefined);
    });

    it('never shows one tenant a snapshot of another', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine));
      await store.saveSnapshot('acme', snapshotAt(3, { owner: 'acme' }));
      assert.equal(await store.latestSnapshot('globex', 'order-1'), undefined);
      assert.equal(await store.latestSnapshot('globex', 'order-1', T0 + 10_000), undefined);
      assert.deepEqual(await store.listSnapshots('globex', 'order-1', { limit: 10 }), []);
      // The same entity id and version in another tenant is a separate snapshot.
      assert.equal(await store.saveSnapshot('globex', snapshotAt(3, { owner: 'globex' })), true);
      assert.deepEqual((await store.latestSnapshot('acme', 'order-1'))?.state, { owner: 'acme' });
      assert.deepEqual((await store.latestSnapshot('globex', 'order-1'))?.state, {
        owner: 'globex',
      });
    });

    it('as of a time: the newest snapshot whose event time is at or before it', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine));
      for (const version of [0, 5, 10]) await store.saveSnapshot('acme', snapshotAt(version));
      // Two versions committed in the same millisecond: the higher one wins.
      await store.saveSnapshot('acme', { ...snapshotAt(11), time_ms: T0 + 10_000 });
      const asOf = async (ms: number) =>
        (await store.latestSnapshot('acme', 'order-1', ms))?.version;
      assert.equal(await asOf(T0 - 1), undefined);
      assert.equal(await asOf(T0), 0);
      assert.equal(await asOf(T0 + 4_999), 0);
      assert.equal(await asOf(T0 + 5_000), 5);
      assert.equal(await asOf(T0 + 9_999), 5);
      assert.equal(await asOf(T0 + 10_000), 11);
      assert.equal(await asOf(T0 + 1e9), 11);
    });

    it('keeps the first snapshot saved at a version (idempotent save)', async (t) => {
      let clock = CREATED;
      const store = createSnapshotStore(await migrated(t, engine), () => clock);
      assert.equal(await store.saveSnapshot('acme', snapshotAt(7, { first: true })), true);
      clock += 60_000;
      assert.equal(await store.saveSnapshot('acme', snapshotAt(7, { second: true })), false);
      const kept = await store.latestSnapshot('acme', 'order-1');
      assert.deepEqual(kept?.state, { first: true });
      assert.equal(kept?.created_at, new Date(CREATED).toISOString());
      assert.equal((await store.listSnapshots('acme', 'order-1', { limit: 10 })).length, 1);
    });

    it('lists newest first, paging towards older versions with the version cursor', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine));
      for (const version of [0, 3, 6, 9, 12]) await store.saveSnapshot('acme', snapshotAt(version));
      await store.saveSnapshot('acme', { ...snapshotAt(99), entity_id: 'order-2' });
      const versions = async (after_version?: number) =>
        (await store.listSnapshots('acme', 'order-1', { after_version, limit: 2 })).map(
          (snapshot) => snapshot.version,
        );
      assert.deepEqual(await versions(), [12, 9]);
      assert.deepEqual(await versions(9), [6, 3]);
      assert.deepEqual(await versions(3), [0]);
      assert.deepEqual(await versions(0), []);
      const [first] = await store.listSnapshots('acme', 'order-1', { limit: 1 });
      assert.deepEqual(first?.state, { v: 12 });
      assert.equal(first?.timestamp, '2025-01-01T00:00:12.000Z');
    });

    it('round-trips any JSON value, nested and unicode', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine));
      const states: unknown[] = [
        {
          name: 'Zoë 🦄 日本語 \u2028 "quoted" \\ back',
          nested: { deep: { deeper: [1, 2.5, -3e-7, true, false, null, { x: [] }] } },
          empty: {},
          big: Number.MAX_SAFE_INTEGER,
        },
        JSON.parse('{"__proto__":{"polluted":true},"constructor":"c"}'),
        [1, 'two', { three: 3 }],
        'just a string',
        42,
        null,
        false,
      ];
      for (const [index, state] of states.entries()) {
        const entity_id = `entity-${index}`;
        await store.saveSnapshot('acme', { ...snapshotAt(0), entity_id, state });
        const loaded = (await store.latestSnapshot('acme', entity_id))?.state;
        // deepEqual, not text: jsonb keeps no key order.
        assert.deepEqual(loaded, state, entity_id);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('refuses a state that is not JSON', async (t) => {
      const store = createSnapshotStore(await migrated(t, engine));
      await assert.rejects(
        store.saveSnapshot('acme', { ...snapshotAt(0), state: undefined }),
        /JSON value/,
      );
    });
  });

  describe(`migration 0003 collation (${engine})`, () => {
    it('orders entity ids and event types by code point, like SQLite BINARY', async (t) => {
      const db = await migrated(t, engine);
      const ids = ['b', 'B', 'a', 'A', '_', 'é', 'z'];
      const expected = [...ids].sort(); // UTF-16 order equals code-point order for the BMP
      for (const id of ids) {
        await sql`INSERT INTO entities (tenant_id, entity_id, version, last_position, last_time_ms, bytes)
          VALUES ('acme', ${id}, 0, 1, 0, 0)`.execute(db.kysely);
        await sql`INSERT INTO event_types (tenant_id, event_type, events) VALUES ('acme', ${id}, 1)`.execute(
          db.kysely,
        );
      }
      const entities = await sql<{ id: string }>`SELECT entity_id AS id FROM entities
        WHERE tenant_id = 'acme' AND entity_id >= 'B' ORDER BY entity_id`.execute(db.kysely);
      assert.deepEqual(
        entities.rows.map((row) => row.id),
        expected.filter((id) => id >= 'B'),
      );
      const types = await sql<{ id: string }>`SELECT event_type AS id FROM event_types
        ORDER BY event_type`.execute(db.kysely);
      assert.deepEqual(
        types.rows.map((row) => row.id),
        expected,
      );
    });

    if (engine === 'postgres') {
      // The test server's default collation may already be C: check the columns too.
      it('declares COLLATE "C" on every entity id and event type column', async (t) => {
        const db = await migrated(t, engine);
        const { rows } = await sql<{ name: string; collation: string | null }>`
          SELECT table_name || '.' || column_name AS name, collation_name AS collation
          FROM information_schema.columns
          WHERE table_schema = current_schema() AND column_name IN ('entity_id', 'event_type')
          ORDER BY 1`.execute(db.kysely);
        assert.deepEqual(rows, [
          { name: 'entities.entity_id', collation: 'C' },
          { name: 'event_types.event_type', collation: 'C' },
          { name: 'events.entity_id', collation: 'C' },
          { name: 'events.event_type', collation: 'C' },
          { name: 'snapshots.entity_id', collation: 'C' },
        ]);
      });
    }
  });
}
