import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { createGroupCommitter } from './group-commit.ts';
import { createLocalNotifier } from './local-notifier.ts';
import type { AppendUnit } from './model.ts';
import { openEventStore } from './open-event-store.ts';
import { ev, ok, unit } from './store.contract.ts';
import type { EventStore } from './store.ts';

/** The real store, counting how many units each transaction carried. */
async function countingStore(t: TestContext, engine: 'sqlite' | 'postgres') {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  const real = openEventStore(db);
  const commits: number[] = [];
  // A unit for the entity "explode" stands for a database error in its transaction.
  const store: EventStore = {
    ...real,
    async appendUnits(units) {
      commits.push(units.length);
      if (units.some((u) => u.entities.some((e) => e.entity_id === 'explode'))) {
        throw new Error('simulated database failure');
      }
      return real.appendUnits(units);
    },
  };
  return { store, real, commits };
}

for (const engine of testEngines()) {
  describe(`group commit (${engine})`, () => {
    it('coalesces concurrent appends into few transactions, each unit deciding alone', async (t) => {
      const { store, real, commits } = await countingStore(t, engine);
      const notifier = createLocalNotifier();
      const heads: number[] = [];
      notifier.subscribe((head) => heads.push(head));
      const committer = createGroupCommitter(store, {
        maxEventsPerCommit: 1000,
        lanes: 1,
        notifier,
      });
      const units: AppendUnit[] = Array.from({ length: 50 }, (_, i) =>
        unit('t', `e-${i % 5}`, [ev('E', i)], i < 5 ? 'no_stream' : 'any'),
      );
      units.push(unit('t', 'e-0', [ev('Late')], 'no_stream'));
      const outcomes = await Promise.all(units.map((u) => committer.submit(u)));
      assert.equal(outcomes.filter((o) => o.ok).length, 50);
      assert.equal(outcomes[50]?.ok, false);
      assert.ok(commits.length < 10, `50 concurrent appends took ${commits.length} transactions`);
      assert.equal(await real.headPosition(), 50);
      assert.equal(heads.at(-1), 50);
      const positions = outcomes
        .filter((o) => o.ok)
        .flatMap((o) => ok(o).events.map((e) => e.position));
      assert.deepEqual(
        positions.toSorted((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it('keeps a commit to the event limit, but never splits a unit', async (t) => {
      const { store, commits } = await countingStore(t, engine);
      const committer = createGroupCommitter(store, { maxEventsPerCommit: 10, lanes: 1 });
      const big = unit(
        't',
        'big',
        Array.from({ length: 25 }, (_, i) => ev('E', i)),
      );
      const small = Array.from({ length: 12 }, (_, i) => unit('t', `s-${i}`, [ev('E', i)]));
      const outcomes = await Promise.all([
        committer.submit(big),
        ...small.map((u) => committer.submit(u)),
      ]);
      assert.ok(outcomes.every((o) => o.ok));
      assert.deepEqual(commits.slice(0, 2), [1, 10]);
    });

    it('retries each unit alone when a shared transaction fails, so one bad unit fails alone', async (t) => {
      const { store, real } = await countingStore(t, engine);
      const committer = createGroupCommitter(store, { maxEventsPerCommit: 1000, lanes: 1 });
      const results = await Promise.allSettled([
        committer.submit(unit('t', 'a', [ev('A')])),
        committer.submit(unit('t', 'explode', [ev('X')])),
        committer.submit(unit('t', 'b', [ev('B')])),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(await real.headPosition(), 2);
      await committer.drain();
    });

    it('drain waits for everything submitted', async (t) => {
      const { store, real } = await countingStore(t, engine);
      const committer = createGroupCommitter(store, { maxEventsPerCommit: 1000, lanes: 1 });
      for (let i = 0; i < 20; i++) void committer.submit(unit('t', `d-${i}`, [ev('E')]));
      await committer.drain();
      assert.equal(await real.headPosition(), 20);
    });
  });
}
