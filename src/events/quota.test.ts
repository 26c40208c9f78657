import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../test/helpers/postgres-events-fixture.ts';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { createGroupCommitter } from './group-commit.ts';
import type { AppendLimits, AppendOutcome, AppendUnit } from './model.ts';
import { openEventStore } from './open-event-store.ts';
import { DAY_MS } from './plan-quota.ts';
import { ev, ok, unit } from './store.contract.ts';

// Payload {} and metadata {}: four bytes of JSON per event.
const EVENT_BYTES = 4;
const NOON = Date.UTC(2026, 0, 15, 12);

const limited = (u: AppendUnit, limits: Partial<AppendLimits>): AppendUnit => ({
  ...u,
  limits: { max_events_per_day: 0, max_storage_bytes: 0, ...limits },
});
const events = (n: number) => Array.from({ length: n }, () => ev('E'));

function refusal(outcome: AppendOutcome | undefined) {
  assert.ok(outcome && !outcome.ok && outcome.reason === 'quota_exceeded', JSON.stringify(outcome));
  return outcome;
}

async function quotaStore(t: TestContext, engine: 'sqlite' | 'postgres') {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  let now = NOON;
  const store = openEventStore(db, { now: () => now });
  const setNow = (ms: number) => {
    now = ms;
  };
  return { db, store, setNow };
}

async function counter(db: Database, tenant: string, quota: string, window: number) {
  const row = await db.kysely
    .selectFrom('quota_usage')
    .select('used')
    .where('tenant_id', '=', tenant)
    .where('quota', '=', quota)
    .where('window_start_ms', '=', window)
    .executeTakeFirst();
  return Number(row?.used ?? 0);
}

const countEvents = async (db: Database, tenant: string) =>
  Number(
    (
      await db.kysely
        .selectFrom('events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenant)
        .executeTakeFirstOrThrow()
    ).n,
  );

const DAY = NOON - (NOON % DAY_MS);

for (const engine of testEngines()) {
  describe(`append quotas (${engine})`, () => {
    it('refuses the unit that would pass the day’s limit, alone, and counts every unit', async (t) => {
      const { db, store } = await quotaStore(t, engine);
      ok(
        (
          await store.appendUnits([limited(unit('a', 'x', events(3)), { max_events_per_day: 5 })])
        )[0],
      );
      const outcomes = await store.appendUnits([
        limited(unit('a', 'x', events(3)), { max_events_per_day: 5 }),
        unit('b', 'y', events(2)),
        limited(unit('a', 'z', events(2)), { max_events_per_day: 5 }),
        limited(unit('a', 'z', events(1)), { max_events_per_day: 5 }),
      ]);
      const refused = refusal(outcomes[0]);
      assert.deepEqual(
        { quota: refused.quota, limit: refused.limit, used: refused.used },
        { quota: 'max_events_per_day', limit: 5, used: 3 },
      );
      assert.equal(refused.reset_at_ms, DAY + DAY_MS);
      // Another tenant's unit and a smaller one of the same tenant share the commit.
      ok(outcomes[1]);
      ok(outcomes[2]);
      // An earlier unit of the same commit counts: 3 + 2 leaves nothing for this one.
      assert.equal(refusal(outcomes[3]).used, 5);
      assert.equal(await countEvents(db, 'a'), 5);
      assert.equal(await counter(db, 'a', 'max_events_per_day', DAY), 5);
      // Units without limits (tenant b) are counted too, so a limit set later is right.
      assert.equal(await counter(db, 'b', 'max_events_per_day', DAY), 2);
      assert.equal(await counter(db, 'b', 'max_storage_bytes', 0), 2 * EVENT_BYTES);
    });

    it('starts a new count when the UTC day changes', async (t) => {
      const { store, setNow } = await quotaStore(t, engine);
      const append = () =>
        store.appendUnits([limited(unit('a', 'x', events(2)), { max_events_per_day: 2 })]);
      ok((await append())[0]);
      refusal((await append())[0]);
      setNow(DAY + DAY_MS - 1);
      assert.equal(refusal((await append())[0]).reset_at_ms, DAY + DAY_MS);
      setNow(DAY + DAY_MS);
      ok((await append())[0]);
      refusal((await append())[0]);
    });

    it('limits stored bytes, which never reset, and treats 0 as unlimited', async (t) => {
      const { db, store, setNow } = await quotaStore(t, engine);
      const limits = { max_storage_bytes: 3 * EVENT_BYTES };
      ok((await store.appendUnits([limited(unit('a', 'x', events(2)), limits)]))[0]);
      const refused = refusal(
        (await store.appendUnits([limited(unit('a', 'x', events(2)), limits)]))[0],
      );
      assert.deepEqual(
        [refused.quota, refused.limit, refused.used, refused.reset_at_ms],
        ['max_storage_bytes', 12, 8, null],
      );
      setNow(NOON + 7 * DAY_MS);
      refusal((await store.appendUnits([limited(unit('a', 'x', events(2)), limits)]))[0]);
      ok((await store.appendUnits([limited(unit('a', 'x', events(1)), limits)]))[0]);
      // Both limits 0: nothing is checked.
      const unlimited = { max_events_per_day: 0, max_storage_bytes: 0 };
      ok((await store.appendUnits([limited(unit('a', 'x', events(50)), unlimited)]))[0]);
      assert.equal(await counter(db, 'a', 'max_storage_bytes', 0), 53 * EVENT_BYTES);
    });

    it('counts what was stored before appends kept counters (migration 0007)', async (t) => {
      const { db, cleanup } = await openTestDatabase(engine);
      t.after(cleanup);
      await migrateToLatest(db, MIGRATIONS.slice(0, 6));
      // As an append before 0007 left it: rows, summaries, no counters. Written as SQL:
      // today's append path needs the tables of later migrations (the ledger's, 0018).
      const now = Date.now();
      const empty = engine === 'postgres' ? sql`'{}'::jsonb` : sql`'{}'`;
      for (const [position, tenant, entity, version] of [
        [1, 'a', 'x', 0],
        [2, 'a', 'x', 1],
        [3, 'a', 'x', 2],
        [4, 'b', 'y', 0],
      ] as const) {
        await sql`INSERT INTO events (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata)
          VALUES (${position}, ${tenant}, ${entity}, ${version}, 'E', ${now}, ${empty}, ${empty})`.execute(
          db.kysely,
        );
      }
      await sql`INSERT INTO entities (tenant_id, entity_id, version, last_position, last_time_ms, bytes)
        VALUES ('a', 'x', 2, 3, ${now}, ${3 * EVENT_BYTES}), ('b', 'y', 0, 4, ${now}, ${EVENT_BYTES})`.execute(
        db.kysely,
      );
      await sql`INSERT INTO event_commits (first_position, time_ms) VALUES (1, ${now})`.execute(
        db.kysely,
      );
      await sql`UPDATE event_log_head SET position = 4, time_ms = ${now}`.execute(db.kysely);
      await migrateToLatest(db, MIGRATIONS);
      const today = Date.now() - (Date.now() % DAY_MS);
      assert.equal(await counter(db, 'a', 'max_events_per_day', today), 3);
      assert.equal(await counter(db, 'a', 'max_storage_bytes', 0), 3 * EVENT_BYTES);
      assert.equal(await counter(db, 'b', 'max_storage_bytes', 0), EVENT_BYTES);
    });

    it('lets an idempotent retry through at the limit: it writes nothing', async (t) => {
      const { store } = await quotaStore(t, engine);
      const id = '00000000-0000-4000-8000-000000000001';
      const once = limited(unit('a', 'x', [ev('E', {}, { id })]), { max_events_per_day: 1 });
      ok((await store.appendUnits([once]))[0]);
      assert.equal(ok((await store.appendUnits([once]))[0]).duplicate, true);
    });

    it('never overshoots under concurrent group-committed appends', async (t) => {
      const { db, store } = await quotaStore(t, engine);
      const committer = createGroupCommitter(store, { maxEventsPerCommit: 7, lanes: 1 });
      const limits = { max_events_per_day: 40 };
      const outcomes = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          committer.submit(limited(unit('a', `e-${i % 9}`, events(1)), limits)),
        ),
      );
      assert.equal(outcomes.filter((o) => o.ok).length, 40);
      assert.equal(outcomes.filter((o) => !o.ok && o.reason === 'quota_exceeded').length, 80);
      assert.equal(await countEvents(db, 'a'), 40);
      assert.equal(await counter(db, 'a', 'max_events_per_day', DAY), 40);
    });
  });
}

describe('append quotas across PostgreSQL nodes', { skip: skipWithoutPostgres }, () => {
  it('two nodes appending at once store exactly the limit', async (t) => {
    const { db, open } = await postgresFixture(t);
    const nodes = [openEventStore(db), openEventStore(await open())];
    const limits = { max_events_per_day: 50 };
    const outcomes = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        (nodes[i % 2] as (typeof nodes)[number]).appendUnits([
          limited(unit('a', `e-${i % 4}`, events(1)), limits),
        ]),
      ),
    );
    assert.equal(outcomes.flat().filter((o) => o.ok).length, 50);
    assert.equal(await countEvents(db, 'a'), 50);
  });
});
