import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { buildTestApp } from '../../test/helpers/app.ts';
import {
  appendEvents,
  checkpointsOf,
  positionsOf,
  tamper,
} from '../../test/helpers/ledger-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { openChainLog } from '../events/chain/chain-log.ts';
import type { Engine } from '../storage/database.ts';
import { createCheckpointStore } from './checkpoints/checkpoint-store.ts';
import { checkpointKeyring } from './checkpoints/verify-checkpoint.ts';
import { rangeCutter } from './range-cutter.ts';
import { type PartitionsProgress, verifyPartitions } from './verify-partitions.ts';
import { verifyPartitionsInParallel } from './verify-partitions-parallel.ts';

/**
 * In round-robin order, so every tenant's positions have others' between them; each
 * tampered one on its own, `filler` right after `t-ins` (whose free position it gives).
 */
const TENANTS = [
  'acme',
  't-edit',
  't-del',
  't-swap',
  't-ins',
  'filler',
  't-unch',
  't-last',
  't-rw',
  't-cut',
  't-forge',
  't-unk',
];
/** Each tenant: 8 events, a checkpoint (at its event 7), 8 more, one (at 15), 8 more. */
const ROUNDS = [8, 8, 8];

async function deployment(t: TestContext, engine: Engine) {
  const test = await buildTestApp({ ledger: { checkpoint_interval_events: 1 } }, engine);
  t.after(() => test.close());
  const { keys } = test.services.identity;
  await keys.ensureKey();
  for (const [i, rounds] of ROUNDS.entries()) {
    if (i > 0) await test.services.ledger.checkpointScheduler.tick();
    for (let round = 0; round < rounds; round++) {
      for (const tenant of TENANTS) await appendEvents(test.db, tenant, 1);
    }
  }
  const positions = new Map<string, number[]>();
  for (const tenant of TENANTS) positions.set(tenant, await positionsOf(test.db, tenant));
  const at = (tenant: string, index: number) => positions.get(tenant)?.[index] as number;
  const log = openChainLog(test.db);
  const checkpoints = {
    store: createCheckpointStore(test.db.kysely),
    keyring: checkpointKeyring((kid) => keys.findAnyPublicKey(kid)),
  };
  /** The sequential verdict and progress, then the parallel ones (ranges of `rangeEvents`). */
  const both = async (rangeEvents: number, threads = 2) => {
    const partitions = await log.partitions();
    const progress = {
      sequential: [] as PartitionsProgress[],
      parallel: [] as PartitionsProgress[],
    };
    const sequential = await verifyPartitions(
      log,
      partitions,
      (p) => progress.sequential.push(p),
      checkpoints,
    );
    const parallel = await verifyPartitionsInParallel(test.config.storage, log, partitions, {
      threads,
      rangeEvents,
      minEvents: 0,
      checkpoints,
      onProgress: (p) => progress.parallel.push(p),
    });
    return { sequential, parallel, progress };
  };
  return { ...test, at, log, checkpoints, both };
}

/** Every tampering the offline tests cover, each on its own tenant, and where each is reported. */
async function tamperAll(test: Awaited<ReturnType<typeof deployment>>) {
  const { db, at } = test;
  const checkpoint = async (tenant: string) => (await checkpointsOf(db, tenant))[1] as never;
  await tamper.editPayload(db, at('t-edit', 6));
  await tamper.remove(db, at('t-del', 6));
  await tamper.swap(db, at('t-swap', 6), at('t-swap', 8));
  // The free position is filler's, whose chain then breaks at its next event.
  await tamper.remove(db, at('t-ins', 6) + 1);
  await tamper.insert(db, 't-ins', at('t-ins', 6) + 1);
  await sql`UPDATE events SET hash = NULL WHERE position = ${at('t-unch', 6)}`.execute(db.kysely);
  await tamper.remove(db, at('t-last', 23));
  await tamper.rewriteFrom(db, 't-rw', at('t-rw', 10));
  await tamper.cutTail(db, 't-cut', 10);
  await tamper.checkpoint(db, await checkpoint('t-forge'), 'forged');
  await tamper.checkpoint(db, await checkpoint('t-unk'), 'unknownKey');
  return [
    { partition: 'filler', position: at('filler', 7), reason: 'hash_mismatch' },
    {
      partition: 't-cut',
      position: at('t-cut', 8),
      reason: 'checkpoint_mismatch',
      checkpoint: at('t-cut', 15),
    },
    { partition: 't-del', position: at('t-del', 7), reason: 'hash_mismatch' },
    { partition: 't-edit', position: at('t-edit', 6), reason: 'hash_mismatch' },
    {
      partition: 't-forge',
      position: at('t-forge', 15),
      reason: 'checkpoint_signature',
      checkpoint: at('t-forge', 15),
    },
    { partition: 't-ins', position: at('t-ins', 6) + 1, reason: 'hash_mismatch' },
    { partition: 't-last', position: at('t-last', 23), reason: 'head_mismatch' },
    {
      partition: 't-rw',
      position: at('t-rw', 8),
      reason: 'checkpoint_mismatch',
      checkpoint: at('t-rw', 15),
    },
    { partition: 't-swap', position: at('t-swap', 6), reason: 'hash_mismatch' },
    { partition: 't-unch', position: at('t-unch', 6), reason: 'unchained' },
    {
      partition: 't-unk',
      position: at('t-unk', 15),
      reason: 'unknown_key',
      checkpoint: at('t-unk', 15),
    },
  ];
}

/** Progress names the partitions in order, each from 0, and never goes back. */
function assertProgress(reports: readonly PartitionsProgress[], partitions: readonly string[]) {
  const named = reports.map((p) => p.partition).filter((p, i, all) => p !== all[i - 1]);
  assert.deepEqual(named, partitions);
  for (const [i, report] of reports.entries()) {
    const previous = reports[i - 1];
    if (report.partition !== previous?.partition) assert.equal(report.checked, 0);
    if (previous) assert.ok(report.doneEvents >= previous.doneEvents, JSON.stringify(report));
  }
}

for (const engine of testEngines()) {
  describe(`verifyPartitionsInParallel (${engine})`, () => {
    it('finds what verifyPartitions finds, however the partitions are cut into ranges', async (t) => {
      const test = await deployment(t, engine);
      const partitions = await test.log.partitions();
      const events = TENANTS.length * 24;

      const intact = await test.both(7);
      assert.deepEqual(intact.parallel, intact.sequential);
      assert.deepEqual(intact.parallel, {
        ok: true,
        partitions: partitions.length,
        checked: events,
        broken: [],
      });
      assertProgress(intact.progress.parallel, partitions);
      assert.deepEqual(intact.progress.parallel.at(-1), intact.progress.sequential.at(-1));

      const expected = await tamperAll(test);
      // 7: a range ends on each tampered event 6; 6: one starts there; 8: one ends just
      // after it; 1: every event is a range of its own; 100: one range per partition.
      for (const rangeEvents of [7, 6, 8, 1, 100]) {
        const { sequential, parallel, progress } = await test.both(rangeEvents);
        assert.deepEqual(parallel, sequential, `ranges of ${rangeEvents}`);
        assert.deepEqual(parallel.broken, expected, `ranges of ${rangeEvents}`);
        assertProgress(progress.parallel, partitions);
      }
      const three = await test.both(5, 3);
      assert.deepEqual(three.parallel, three.sequential);
    });

    it('verifies a log whose ranges end exactly at its partitions’ ends', async (t) => {
      const test = await deployment(t, engine);
      const { sequential, parallel } = await test.both(24);
      assert.deepEqual(parallel, sequential);
      assert.equal(parallel.ok, true);
    });

    it('fails, never INTACT, when a thread cannot read the log', async (t) => {
      const test = await deployment(t, engine);
      const empty = mkdtempSync(join(tmpdir(), 'tessera-pverify-'));
      t.after(() => rmSync(empty, { recursive: true, force: true }));
      // The threads open an empty SQLite file: no events table.
      const storage = { ...test.config.storage, data_dir: empty, database_url: '' };
      await assert.rejects(
        verifyPartitionsInParallel(storage, test.log, await test.log.partitions(), {
          threads: 2,
          rangeEvents: 7,
          minEvents: 0,
        }),
        /could not verify .* after position \d+: .*events/,
      );
    });

    it('stops when its signal is aborted', async (t) => {
      const test = await deployment(t, engine);
      const stop = new AbortController();
      await assert.rejects(
        verifyPartitionsInParallel(test.config.storage, test.log, await test.log.partitions(), {
          threads: 2,
          rangeEvents: 7,
          minEvents: 0,
          signal: stop.signal,
          onProgress: () => stop.abort(new Error('interrupted')),
        }),
        /interrupted/,
      );
    });

    it('verifies small logs on this thread, and with one thread', async (t) => {
      const test = await deployment(t, engine);
      const partitions = await test.log.partitions();
      const expected = await verifyPartitions(test.log, partitions);
      // A storage no thread could read: none is started.
      const empty = mkdtempSync(join(tmpdir(), 'tessera-pverify-'));
      t.after(() => rmSync(empty, { recursive: true, force: true }));
      const storage = { ...test.config.storage, data_dir: empty, database_url: '' };
      for (const options of [{ threads: 4 }, { threads: 1, minEvents: 0, rangeEvents: 7 }]) {
        const verdict = await verifyPartitionsInParallel(storage, test.log, partitions, options);
        assert.deepEqual(verdict, expected);
      }
    });

    it('cuts each partition into ranges that cover every event once', async (t) => {
      const test = await deployment(t, engine);
      const partitions = await test.log.partitions();
      for (const [rangeEvents, endsPerRead] of [
        [7, 1],
        [7, 2],
        [24, 1],
        [5, 256],
      ] as const) {
        const runs = partitions.map((partition) => ({ partition, broken: false }));
        const cut = rangeCutter(test.log, runs, rangeEvents, endsPerRead);
        const cuts = new Map<string, [number, number | undefined][]>();
        for (let slice = await cut(); slice; slice = await cut()) {
          cuts.set(slice.partition, [
            ...(cuts.get(slice.partition) ?? []),
            [slice.after, slice.upTo],
          ]);
        }
        assert.deepEqual([...cuts.keys()], partitions);
        for (const partition of partitions) {
          const positions = await positionsOf(test.db, partition);
          const ends = positions.filter((_, i) => (i + 1) % rangeEvents === 0);
          const expected = [0, ...ends].map((after, i) => [after, ends[i]]);
          assert.deepEqual(
            cuts.get(partition),
            expected,
            `${partition} ${rangeEvents}/${endsPerRead}`,
          );
        }
      }
    });

    it('rangeEnds: where ranges of n events end', async (t) => {
      const test = await deployment(t, engine);
      const acme = await positionsOf(test.db, 'acme');
      const { log } = test;
      const at = (index: number) => acme[index] as number;
      assert.deepEqual(await log.rangeEnds('acme', 0, 7, 10), [at(6), at(13), at(20)]);
      assert.deepEqual(await log.rangeEnds('acme', 0, 7, 2), [at(6), at(13)]);
      assert.deepEqual(await log.rangeEnds('acme', at(13), 7, 10), [at(20)]);
      assert.deepEqual(await log.rangeEnds('acme', at(3), 1, 3), [at(4), at(5), at(6)]);
      assert.deepEqual(await log.rangeEnds('acme', 0, 24, 2), [at(23)]);
      assert.deepEqual(await log.rangeEnds('acme', 0, 25, 2), []);
      assert.deepEqual(await log.rangeEnds('acme', at(23), 1, 2), []);
      assert.deepEqual(await log.rangeEnds('nobody', 0, 1, 2), []);
    });
  });
}
