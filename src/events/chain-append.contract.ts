import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import type { Engine } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import { verifyChain } from './chain/verify-chain.ts';
import type { AppendUnit, NewEvent } from './model.ts';
import { type EventRecord, toStoredEvent } from './row-to-event.ts';
import { ev, ok, unit } from './store.contract.ts';
import type { EventStore } from './store.ts';

/** A fresh, migrated, empty store and the database it is on, for one test. */
export type OpenChainedStore = (
  t: TestContext,
) => Promise<{ readonly db: Database; readonly store: EventStore }>;

interface ChainedRecord extends EventRecord {
  readonly hash: string | null;
}

interface HeadRecord {
  readonly partition: string;
  readonly position: number;
  readonly hash: string;
  readonly chained: number;
}

/** What the chain of one partition holds, as the checks below found it. */
export interface PartitionChain {
  readonly events: number;
  readonly head: HeadRecord;
}

/**
 * Reads every event row straight from the database, rebuilds each as a reader does
 * (row-to-event.ts: the chained form), and checks that each partition's rows verify
 * from GENESIS_HASH and that its `ledger_heads` row is its last event with the right
 * count. Returns the partitions found, by name.
 */
export async function assertChainsIntact(
  db: Database,
  engine: Engine,
): Promise<Map<string, PartitionChain>> {
  const { rows } = await sql<ChainedRecord>`SELECT position, tenant_id, entity_id, version,
      event_type, time_ms, payload, metadata, client_id, hash
    FROM events ORDER BY tenant_id, position`.execute(db.kysely);
  const heads = (
    await sql<HeadRecord>`SELECT partition, position, hash, chained FROM ledger_heads`.execute(
      db.kysely,
    )
  ).rows.map((head) => ({
    ...head,
    position: Number(head.position),
    chained: Number(head.chained),
  }));
  // SQLite hands back the JSON text, PostgreSQL the parsed jsonb.
  const parse =
    engine === 'sqlite' ? (json: unknown) => JSON.parse(json as string) : (json: unknown) => json;
  const byPartition = new Map<string, ChainedRecord[]>();
  for (const row of rows) {
    const list = byPartition.get(row.tenant_id) ?? [];
    list.push(row);
    byPartition.set(row.tenant_id, list);
  }
  assert.deepEqual(
    heads.map((head) => head.partition).sort(),
    [...byPartition.keys()].sort(),
    'one ledger head per partition',
  );
  const found = new Map<string, PartitionChain>();
  for (const [partition, list] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const events = list.map((row) => {
      assert.ok(row.hash, `event ${row.position} has a hash`);
      return { ...toStoredEvent(row, parse), hash: row.hash };
    });
    assert.deepEqual(verifyChain({ partition }, events), {
      ok: true,
      checked: events.length,
      first_broken: null,
    });
    const last = events.at(-1) as (typeof events)[number];
    const head = heads.find((h) => h.partition === partition) as HeadRecord;
    assert.deepEqual(
      head,
      { partition, position: last.position, hash: last.hash, chained: events.length },
      `ledger head of ${partition}`,
    );
    found.set(partition, { events: events.length, head });
  }
  return found;
}

const T1 = 'tenant-one';
const T2 = 'tenant-two';
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const batch = (count: number, from = 0): NewEvent[] =>
  Array.from({ length: count }, (_, k) => ev('Counted', { n: from + k, tags: ['a', 'b'] }));

/** The hash chain the append path writes (issue 22); run by store.contract.test.ts per engine. */
export function chainAppendContract(engine: Engine, open: OpenChainedStore): void {
  describe(`event store contract, hash chain (${engine})`, () => {
    it('chains every kind of append, partition by partition, with its ledger head', async (t) => {
      const { db, store } = await open(t);
      assert.equal((await assertChainsIntact(db, engine)).size, 0);
      // Values whose stored form differs from how they were written.
      const awkward = {
        z: 1.0,
        a: -0,
        big: 1e21,
        tiny: 5e-324,
        text: 'Zoë 😀 \u2028 "quoted" \\',
        nested: { y: [3, { b: null, a: true }], x: {} },
      };
      ok((await store.appendUnits([unit(T1, 'single', [ev('One', awkward)])]))[0]);
      ok(
        (
          await store.appendUnits([
            unit(T1, 'empty', [{ event_type: 'Nothing', payload: undefined }]),
          ])
        )[0],
      );
      ok(
        (
          await store.appendUnits([
            {
              tenant_id: T1,
              entities: [
                { entity_id: 'multi-a', expected_version: 'no_stream', events: batch(3) },
                {
                  entity_id: 'multi-b',
                  expected_version: 'any',
                  events: [ev('Meta', 'text', { metadata: { by: 'test', n: 2 } })],
                },
                { entity_id: 'multi-a', expected_version: 'any', events: batch(2, 3) },
              ],
            },
          ])
        )[0],
      );
      ok((await store.appendUnits([unit(T1, 'bulk', batch(1000))]))[0]);
      // One commit, several units of two tenants, interleaved.
      const commit = await store.appendUnits([
        unit(T1, 'mixed', batch(2)),
        unit(T2, 'mixed', batch(3)),
        unit(T1, 'mixed', batch(1, 2)),
        unit(T2, 'other', [ev('Id', { k: 1 }, { id: uuid(1) })]),
      ]);
      for (const outcome of commit) ok(outcome);
      const before = await assertChainsIntact(db, engine);
      assert.deepEqual(
        [...before].map(([partition, chain]) => [partition, chain.events]),
        [
          [T1, 1 + 1 + 6 + 1000 + 3],
          [T2, 4],
        ],
      );

      // An idempotent retry and a version conflict write nothing, the chain included.
      const retry = ok(
        (await store.appendUnits([unit(T2, 'other', [ev('Id', { k: 1 }, { id: uuid(1) })])]))[0],
      );
      assert.equal(retry.duplicate, true);
      const [conflict] = await store.appendUnits([unit(T1, 'single', [ev('Late')], 5)]);
      assert.equal(conflict?.ok, false);
      assert.deepEqual(await assertChainsIntact(db, engine), before);

      // A refused unit in a commit leaves the others' chain gapless.
      const partial = await store.appendUnits([
        unit(T1, 'single', [ev('Refused')], 7),
        unit(T1, 'single', [ev('Taken')], 0),
      ]);
      assert.equal(partial[0]?.ok, false);
      ok(partial[1]);
      const after = await assertChainsIntact(db, engine);
      assert.equal(after.get(T1)?.events, (before.get(T1)?.events ?? 0) + 1);
    });

    it('chains appends made in a caller’s transaction, audit partitions included', async (t) => {
      const { db, store } = await open(t);
      ok((await store.appendUnits([unit(T1, 'a', batch(2))]))[0]);
      const audit = (tenant: string, count: number): AppendUnit =>
        unit(`$audit:${tenant}`, '$audit', batch(count));
      const outcomes = await db.transaction((trx) =>
        store.appendInTransaction(trx, [audit(T1, 2), audit(T2, 1), unit(T1, 'a', batch(1))]),
      );
      for (const outcome of outcomes) ok(outcome);
      await db.transaction((trx) => store.appendInTransaction(trx, [audit(T1, 1)]));
      // A rolled-back transaction leaves the heads as they were.
      await assert.rejects(
        db.transaction(async (trx) => {
          await store.appendInTransaction(trx, [audit(T1, 5)]);
          throw new Error('the change failed');
        }),
      );
      ok((await store.appendUnits([unit(T1, 'a', batch(1))]))[0]);
      const chains = await assertChainsIntact(db, engine);
      assert.deepEqual(
        [...chains].map(([partition, chain]) => [partition, chain.events]),
        [
          [`$audit:${T1}`, 3],
          [`$audit:${T2}`, 1],
          [T1, 4],
        ],
      );
    });
  });
}
