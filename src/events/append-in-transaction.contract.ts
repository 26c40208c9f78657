import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { gate } from '../storage/contract-fixture.ts';
import type { Database } from '../storage/open-database.ts';
import type { AppendOutcome, AppendUnit } from './model.ts';
import { ev, ok, unit } from './store.contract.ts';
import type { EventStore } from './store.ts';

/** A fresh, migrated, empty store and the database it is on, for one test. */
export type OpenStoreOnDatabase = (
  t: TestContext,
) => Promise<{ readonly db: Database; readonly store: EventStore }>;

const T1 = 'tenant-one';
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const metaValue = async (db: Database, key: string) =>
  (await db.kysely.selectFrom('tessera_meta').select('value').where('key', '=', key).execute())[0]
    ?.value;

const positions = (outcome: AppendOutcome | undefined) => ok(outcome).events.map((e) => e.position);

/**
 * What `EventStore.appendInTransaction` must do on every engine; run by
 * store.contract.test.ts per engine. The events are part of the caller's transaction.
 */
export function appendInTransactionContract(engine: string, open: OpenStoreOnDatabase): void {
  describe(`event store contract, append in a transaction (${engine})`, () => {
    it('commits with the caller’s writes, continuing versions and positions', async (t) => {
      const { db, store } = await open(t);
      ok((await store.appendUnits([unit(T1, 'a', [ev('A0'), ev('A1')])]))[0]);
      const outcomes = await db.transaction(async (trx) => {
        await trx.insertInto('tessera_meta').values({ key: 'change', value: 'made' }).execute();
        return store.appendInTransaction(trx, [unit(T1, 'a', [ev('A2')], 1)]);
      });
      assert.deepEqual(positions(outcomes[0]), [3]);
      assert.deepEqual(ok(outcomes[0]).last_versions, { a: 2 });
      assert.equal(await metaValue(db, 'change'), 'made');
      assert.equal(await store.headPosition(), 3);
      const stream = await store.readStream(T1, 'a', { direction: 'forward', limit: 10 });
      assert.deepEqual(
        stream.map((e) => [e.version, e.position, e.event_type]),
        [
          [0, 1, 'A0'],
          [1, 2, 'A1'],
          [2, 3, 'A2'],
        ],
      );
    });

    it('rolls back with the caller’s transaction and leaves no gap in positions', async (t) => {
      const { db, store } = await open(t);
      const boom = new Error('the change failed');
      await assert.rejects(
        db.transaction(async (trx) => {
          ok((await store.appendInTransaction(trx, [unit(T1, 'a', [ev('Lost')])]))[0]);
          await trx.insertInto('tessera_meta').values({ key: 'change', value: 'lost' }).execute();
          throw boom;
        }),
        (error) => error === boom,
      );
      assert.equal(await store.headPosition(), 0);
      assert.equal(await metaValue(db, 'change'), undefined);
      assert.deepEqual(await store.readStream(T1, 'a', { direction: 'forward', limit: 10 }), []);
      const next = await store.appendUnits([unit(T1, 'a', [ev('Kept')], 'no_stream')]);
      assert.deepEqual(positions(next[0]), [1]);
    });

    it('decides each unit as appendUnits does: a refused one fails alone', async (t) => {
      const { db, store } = await open(t);
      ok((await store.appendUnits([unit(T1, 'taken', [ev('A', 1, { id: uuid(1) })])]))[0]);
      const outcomes = await db.transaction((trx) =>
        store.appendInTransaction(trx, [
          unit(T1, 'new', [ev('N')], 'no_stream'),
          unit(T1, 'taken', [ev('B')], 'no_stream'),
          unit(T1, 'taken', [ev('A', 2, { id: uuid(1) })]),
          unit(T1, 'taken', [ev('A', 1, { id: uuid(1) })]),
          unit(T1, 'new', [ev('M')], 0),
          unit(T1, 'new', [ev('X')], 0),
        ]),
      );
      assert.deepEqual(positions(outcomes[0]), [2]);
      assert.deepEqual(outcomes[1], {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'taken',
        expected: 'no_stream',
        actual: 0,
      });
      assert.deepEqual(outcomes[2], {
        ok: false,
        reason: 'duplicate_event_id',
        event_id: uuid(1),
      });
      const retry = ok(outcomes[3]);
      assert.equal(retry.duplicate, true, 'an identical retry writes nothing');
      assert.deepEqual(
        retry.events.map((e) => e.position),
        [1],
      );
      // A later unit sees what an earlier one of the same call wrote.
      assert.deepEqual(positions(outcomes[4]), [3]);
      assert.equal(outcomes[5]?.ok, false);
      assert.equal(await store.headPosition(), 3);
    });

    it('sees what the same transaction appended before', async (t) => {
      const { db, store } = await open(t);
      const [first, second] = await db.transaction(async (trx) => [
        (await store.appendInTransaction(trx, [unit(T1, 'a', [ev('A')], 'no_stream')]))[0],
        (await store.appendInTransaction(trx, [unit(T1, 'a', [ev('B')], 0)]))[0],
      ]);
      assert.deepEqual(positions(first), [1]);
      assert.deepEqual(positions(second), [2]);
      assert.deepEqual(ok(second).last_versions, { a: 1 });
    });

    it('checks quotas against usage and counts toward it', async (t) => {
      const { db, store } = await open(t);
      const limited = (u: AppendUnit): AppendUnit => ({
        ...u,
        limits: { max_events_per_day: 3, max_storage_bytes: 0 },
      });
      ok((await store.appendUnits([limited(unit(T1, 'a', [ev('A'), ev('B')]))]))[0]);
      const outcomes = await db.transaction((trx) =>
        store.appendInTransaction(trx, [
          limited(unit(T1, 'b', [ev('C'), ev('D')])),
          limited(unit(T1, 'b', [ev('C')])),
        ]),
      );
      const refused = outcomes[0];
      assert.ok(refused && !refused.ok && refused.reason === 'quota_exceeded');
      assert.deepEqual([refused.quota, refused.limit, refused.used], ['max_events_per_day', 3, 2]);
      ok(outcomes[1]);
      const after = await store.appendUnits([limited(unit(T1, 'c', [ev('E')]))]);
      const full = after[0];
      assert.ok(full && !full.ok && full.reason === 'quota_exceeded', 'the day’s three are used');
      assert.equal(full.used, 3);
    });

    it('holds the log until the caller commits: an append meanwhile comes after', async (t) => {
      const { db, store } = await open(t);
      const appended = gate();
      const release = gate();
      const committed = db.transaction(async (trx) => {
        const outcomes = await store.appendInTransaction(trx, [unit(T1, 'a', [ev('Mine')])]);
        appended.open();
        await release.opened;
        return outcomes;
      });
      await appended.opened;
      // Started outside the transaction's callback, so it cannot join the transaction.
      const other = store.appendUnits([unit(T1, 'b', [ev('Theirs')])]);
      let settled = false;
      other.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let i = 0; i < 20; i++) await yieldToLoop();
      assert.equal(settled, false, 'the other append waits for the commit');
      release.open();
      const [mine, theirs] = await Promise.all([committed, other]);
      assert.deepEqual(positions(mine[0]), [1]);
      assert.deepEqual(positions(theirs[0]), [2]);
      assert.equal(await store.headPosition(), 2);
    });
  });
}
