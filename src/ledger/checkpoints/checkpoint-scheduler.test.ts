import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { appendChained } from '../../../test/helpers/ledger-chain-fixture.ts';
import { testEngines, testStorageConfig } from '../../../test/helpers/test-database.ts';
import { createSigningKeys } from '../../identity/tokens/signing-keys.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { createCheckpointScheduler } from './checkpoint-scheduler.ts';

const T0 = Date.UTC(2026, 0, 1);
const RULE = { events: 5, seconds: 60 };

/** Two handles on one fresh database (two nodes), sharing one master key and clock. */
async function nodes(t: TestContext, engine: Engine) {
  const target = await testStorageConfig(engine);
  const a = await openDatabase(target.storage);
  const b = await openDatabase(target.storage);
  t.after(async () => {
    await a.close();
    await b.close();
    await target.cleanup();
  });
  await migrateToLatest(a, MIGRATIONS);
  let at = T0;
  const now = () => at;
  const master = randomBytes(32);
  const schedulerOn = (db: Database, partitionsPerTick?: number) =>
    createCheckpointScheduler({
      db,
      keys: createSigningKeys(db, master, { accessTtlSeconds: 900, now }),
      rule: RULE,
      now,
      partitionsPerTick,
    });
  const checkpoints = async () =>
    (
      await sql<LedgerCheckpointRow>`SELECT * FROM ledger_checkpoints ORDER BY partition, position`.execute(
        a.kysely,
      )
    ).rows;
  return {
    a,
    b,
    schedulerOn,
    checkpoints,
    advance: (ms: number) => {
      at += ms;
    },
  };
}

for (const engine of testEngines()) {
  describe(`checkpoint scheduler (${engine})`, () => {
    it('signs a new partition at once, then after N events or T seconds, never unmoved', async (t) => {
      const { a, schedulerOn, checkpoints, advance } = await nodes(t, engine);
      const scheduler = schedulerOn(a);
      assert.deepEqual(await scheduler.tick(), [], 'no chained partition, nothing to sign');
      const first = await appendChained(a, 'acme', 2);
      const made = await scheduler.tick();
      assert.deepEqual(
        made.map((row) => [row.partition, row.position, row.hash, row.chained, row.time_ms]),
        [['acme', first.position, first.hash, 2, T0]],
      );
      // Moved by fewer than N events, before T: not yet.
      await appendChained(a, 'acme', 4);
      advance(1_000);
      assert.deepEqual(await scheduler.tick(), []);
      // The Nth event since the checkpoint: due.
      const fifth = await appendChained(a, 'acme', 1);
      assert.deepEqual(
        (await scheduler.tick()).map((row) => [row.position, row.chained]),
        [[fifth.position, 7]],
      );
      // Unmoved: nothing, however long it waits.
      advance(3600_000);
      assert.deepEqual(await scheduler.tick(), []);
      // One event after T has passed: due at once.
      const eighth = await appendChained(a, 'acme', 1);
      assert.deepEqual(
        (await scheduler.tick()).map((row) => row.position),
        [eighth.position],
      );
      // One more: due only once T has passed since that checkpoint.
      const ninth = await appendChained(a, 'acme', 1);
      advance(RULE.seconds * 1000 - 1);
      assert.deepEqual(await scheduler.tick(), []);
      advance(1);
      assert.deepEqual(
        (await scheduler.tick()).map((row) => row.position),
        [ninth.position],
      );
      assert.equal((await checkpoints()).length, 4);
    });

    it('two nodes ticking at once leave one row per (partition, position)', async (t) => {
      const { a, b, schedulerOn, checkpoints } = await nodes(t, engine);
      const heads = [];
      for (const partition of ['acme', '$audit:acme', 'globex', 'initech']) {
        heads.push(await appendChained(a, partition, 3));
      }
      const [onA, onB] = [schedulerOn(a), schedulerOn(b)];
      const [madeA, madeB] = await Promise.all([onA.tick(), onB.tick()]);
      const rows = await checkpoints();
      assert.deepEqual(
        rows.map((row) => [row.partition, row.position]),
        heads
          .map((head) => [head.partition, head.position] as [string, number])
          .sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      );
      // Each row written by exactly one of them.
      assert.equal(madeA.length + madeB.length, heads.length);
    });

    it('looks at a bounded page of partitions per tick, the rest on the next ones', async (t) => {
      const { a, schedulerOn, checkpoints } = await nodes(t, engine);
      for (const partition of ['p1', 'p2', 'p3', 'p4', 'p5']) {
        await appendChained(a, partition, 1);
      }
      const scheduler = schedulerOn(a, 2);
      const signed: string[][] = [];
      for (let tick = 0; tick < 4; tick++) {
        signed.push((await scheduler.tick()).map((row) => row.partition));
      }
      assert.deepEqual(signed, [['p1', 'p2'], ['p3', 'p4'], ['p5'], []]);
      assert.equal((await checkpoints()).length, 5);
    });
  });
}
