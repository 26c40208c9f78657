import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { appendEvents, positionsOf } from '../../../test/helpers/ledger-fixture.ts';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { Database } from '../../storage/open-database.ts';
import { type BackfillProgress, backfillChains } from './backfill.ts';
import { backfillLogged } from './backfill-logged.ts';
import { openChainLog } from './chain-log.ts';
import { verifyChain } from './verify-chain.ts';

/** A database whose events were stored before migration 0018: no hashes, no heads. */
async function preLedgerDatabase(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  await appendEvents(test.db, 'acme', 1100, 400);
  await appendEvents(test.db, 'globex', 30);
  await appendEvents(test.db, '$audit:acme', 20);
  await unchain(test.db);
  return test.db;
}

async function unchain(db: Database) {
  await sql`UPDATE events SET hash = NULL`.execute(db.kysely);
  await sql`DELETE FROM ledger_heads`.execute(db.kysely);
}

/** Each partition's chain verified in full, and its head at its last event. */
async function assertChained(db: Database) {
  const log = openChainLog(db);
  for (const partition of await log.partitions()) {
    const rows = await log.readChain(partition, { after: 0, limit: 1_000_000 });
    const verdict = verifyChain({ partition }, rows as Parameters<typeof verifyChain>[1]);
    assert.deepEqual(verdict.first_broken, null, partition);
    const last = rows.at(-1);
    const head = await log.head(partition);
    assert.deepEqual(head && { position: head.position, hash: head.hash, chained: head.chained }, {
      position: last?.position,
      hash: last?.hash,
      chained: rows.length,
    });
  }
}

for (const engine of testEngines()) {
  describe(`ledger backfill (${engine})`, () => {
    it('chains every partition in batches, reporting progress, then has nothing to do', async (t) => {
      const db = await preLedgerDatabase(t, engine);
      const log = openChainLog(db);
      assert.equal((await log.unchainedTails()).length, 3);
      const seen: BackfillProgress[] = [];
      const result = await backfillChains(log, {
        batch: 250,
        onProgress: (progress) => seen.push(progress),
      });
      assert.deepEqual(result, { chained: 1150, total: 1150, blocked: [] });
      assert.deepEqual(seen[0], { chained: 0, total: 1150 });
      assert.deepEqual(seen.at(-1), { chained: 1150, total: 1150 });
      for (let i = 1; i < seen.length; i++) {
        assert.ok((seen[i]?.chained ?? 0) > (seen[i - 1]?.chained ?? 0), 'progress moves on');
      }
      await assertChained(db);
      assert.deepEqual(await log.unchainedTails(), []);
      assert.deepEqual(await backfillChains(log, { batch: 250 }), {
        chained: 0,
        total: 0,
        blocked: [],
      });
    });

    it('resumes where the last committed batch ended, to the same chain', async (t) => {
      const db = await preLedgerDatabase(t, engine);
      const log = openChainLog(db);
      await backfillChains(log, { batch: 250 });
      const reference = await log.readChain('acme', { after: 0, limit: 5000 });
      await unchain(db);
      // A run killed after one batch of acme's: its hashes and head are all that is left.
      assert.deepEqual(await log.chainNext('acme', 300), { chained: 300, blocked: false });
      const resumed = await backfillChains(log, { batch: 250 });
      assert.deepEqual(resumed, { chained: 850, total: 850, blocked: [] });
      assert.deepEqual(await log.readChain('acme', { after: 0, limit: 5000 }), reference);
      await assertChained(db);
    });

    it("chains what a store opened without the chain appended (the bench's comparison)", async (t) => {
      const test = await openTestDatabase(engine);
      t.after(() => test.cleanup());
      await migrateToLatest(test.db, MIGRATIONS);
      await appendEvents(test.db, 'acme', 600, 250, { chain: false });
      const hashed = await sql<{
        n: number;
      }>`SELECT COUNT(*) AS n FROM events WHERE hash IS NOT NULL`.execute(test.db.kysely);
      assert.equal(Number(hashed.rows[0]?.n), 0, 'no row hashed');
      const log = openChainLog(test.db);
      assert.equal(await log.head('acme'), undefined, 'no head moved');
      assert.deepEqual(await backfillChains(log, { batch: 250 }), {
        chained: 600,
        total: 600,
        blocked: [],
      });
      await assertChained(test.db);
    });

    it('never rewrites a hash: an unhashed event before the head, or a head deleted', async (t) => {
      const db = await preLedgerDatabase(t, engine);
      const log = openChainLog(db);
      await backfillChains(log, { batch: 500 });
      const acme = await positionsOf(db, 'acme');
      await sql`UPDATE events SET hash = NULL WHERE position = ${acme[5] as number}`.execute(
        db.kysely,
      );
      await sql`DELETE FROM ledger_heads WHERE partition = ${'globex'}`.execute(db.kysely);
      const before = await log.readChain('globex', { after: 0, limit: 100 });
      const result = await backfillChains(log, { batch: 500 });
      assert.deepEqual(result, { chained: 0, total: 30, blocked: ['globex'] });
      assert.deepEqual(await log.readChain('globex', { after: 0, limit: 100 }), before);
      const [gap] = await log.readChain('acme', { after: (acme[5] as number) - 1, limit: 1 });
      assert.equal(gap?.hash, null, 'left for the verifier to report');
    });

    it('logs at the start and the end of work, and nothing when there is none', async (t) => {
      const db = await preLedgerDatabase(t, engine);
      const lines: string[] = [];
      const logger = {
        info: (_: Record<string, unknown>, message: string) => lines.push(message),
        warn: (_: Record<string, unknown>, message: string) => lines.push(message),
      };
      await backfillLogged(openChainLog(db), 100, logger);
      assert.equal(lines[0], 'ledger backfill: chaining unhashed events');
      assert.equal(lines.at(-1), 'ledger backfill: done');
      lines.length = 0;
      await backfillLogged(openChainLog(db), 100, logger);
      assert.deepEqual(lines, []);
    });
  });
}
