import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { buildTestApp } from '../../test/helpers/app.ts';
import { appendEvents, ledgerCli, positionsOf, tamper } from '../../test/helpers/ledger-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';

/** In round-robin order, so every tenant's positions have others' between them. */
const TENANTS = ['acme', 't-edit', 't-del', 't-swap', 't-ins', 'filler', 't-last'];

async function deployment(t: TestContext, engine: Engine) {
  const test = await buildTestApp({}, engine);
  t.after(() => test.close());
  await test.services.identity.keys.ensureKey();
  for (let round = 0; round < 6; round++) {
    for (const tenant of TENANTS) await appendEvents(test.db, tenant, 1);
  }
  const positions: Record<string, number[]> = {};
  for (const tenant of TENANTS) positions[tenant] = await positionsOf(test.db, tenant);
  const at = (tenant: string, index: number) => positions[tenant]?.[index] as number;
  const { tessera, backup } = ledgerCli(t, test.config.storage);
  return { ...test, at, tessera, backup };
}

/** On two worker threads, in ranges of two events: many ranges, a tampered event at every edge. */
const THREADED = ['ledger', 'verify', '--threads', '2', '--range-events', '2'];

/** Every tamper kind, each on its own tenant: one run must report each where it happened. */
async function tamperAll(test: Awaited<ReturnType<typeof deployment>>) {
  const { db, at } = test;
  await tamper.editPayload(db, at('t-edit', 2));
  await tamper.remove(db, at('t-del', 2));
  await tamper.swap(db, at('t-swap', 1), at('t-swap', 3));
  // The free position is filler's, whose chain then breaks at its next event.
  await tamper.remove(db, at('t-ins', 2) + 1);
  await tamper.insert(db, 't-ins', at('t-ins', 2) + 1);
  await tamper.remove(db, at('t-last', 5));
  return [
    `BROKEN: filler at position ${at('filler', 3)}: hash_mismatch`,
    `BROKEN: t-del at position ${at('t-del', 3)}: hash_mismatch`,
    `BROKEN: t-edit at position ${at('t-edit', 2)}: hash_mismatch`,
    `BROKEN: t-ins at position ${at('t-ins', 2) + 1}: hash_mismatch`,
    `BROKEN: t-last at position ${at('t-last', 5)}: head_mismatch`,
    `BROKEN: t-swap at position ${at('t-swap', 1)}: hash_mismatch`,
  ];
}

for (const engine of testEngines()) {
  describe(`tessera ledger (${engine})`, () => {
    it('verify: exit 0 when intact, 1 naming each broken partition and position', async (t) => {
      const test = await deployment(t, engine);
      const intact = await test.tessera(['ledger', 'verify']);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /^INTACT: 7 partitions, 42 events verified/);
      const threaded = await test.tessera(THREADED);
      assert.equal(threaded.code, 0, threaded.stderr);
      assert.match(threaded.stdout, /^INTACT: 7 partitions, 42 events verified/);
      const expected = await tamperAll(test);
      const brokenThreaded = await test.tessera(THREADED);
      assert.equal(brokenThreaded.code, 1, brokenThreaded.stderr);
      assert.deepEqual(brokenThreaded.stdout.trim().split('\n'), expected);
      const broken = await test.tessera(['ledger', 'verify']);
      assert.equal(broken.code, 1, broken.stderr);
      assert.deepEqual(broken.stdout.trim().split('\n'), expected);
      assert.match(broken.stderr, /the ledger is broken: first at filler position/);
      const one = await test.tessera(['ledger', 'verify', '--tenant', 'acme']);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^INTACT: 2 partitions, 6 events verified/);
      const json = await test.tessera(['ledger', 'verify', '--tenant', 't-edit', '--json']);
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.stdout).broken, [
        { partition: 't-edit', position: test.at('t-edit', 2), reason: 'hash_mismatch' },
      ]);
    });

    it('verify --backup: the same verdicts from backup files, loaded into SQLite', async (t) => {
      const test = await deployment(t, engine);
      const good = await test.backup();
      const expected = await tamperAll(test);
      const bad = await test.backup();
      const intact = await test.tessera(['ledger', 'verify', '--backup', good]);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /^INTACT: 7 partitions, 42 events verified/);
      const broken = await test.tessera(['ledger', 'verify', '--backup', bad]);
      assert.equal(broken.code, 1, broken.stderr);
      assert.deepEqual(broken.stdout.trim().split('\n'), expected);
      // The threads read the scratch file the backup was loaded into.
      const threaded = await test.tessera([...THREADED, '--backup', bad, '--json']);
      assert.equal(threaded.code, 1, threaded.stderr);
      const json = JSON.parse(threaded.stdout);
      assert.equal(
        json.checked,
        JSON.parse((await test.tessera(['ledger', 'verify', '--backup', bad, '--json'])).stdout)
          .checked,
      );
      assert.deepEqual(
        json.broken.map(
          (b: { partition: string; position: number; reason: string }) =>
            `BROKEN: ${b.partition} at position ${b.position}: ${b.reason}`,
        ),
        expected,
      );
    });

    it('backfill chains a database stored before the ledger, and verify then passes', async (t) => {
      const test = await deployment(t, engine);
      await sql`UPDATE events SET hash = NULL`.execute(test.db.kysely);
      await sql`DELETE FROM ledger_heads`.execute(test.db.kysely);
      const unchained = await test.tessera(['ledger', 'verify', '--tenant', 'acme']);
      assert.equal(unchained.code, 1);
      assert.match(
        unchained.stdout,
        new RegExp(`acme at position ${test.at('acme', 0)}: unchained`),
      );
      const backfill = await test.tessera(['ledger', 'backfill']);
      assert.equal(backfill.code, 0, backfill.stderr);
      assert.equal(backfill.stdout, 'chained 42 events\n');
      const again = await test.tessera(['ledger', 'backfill']);
      assert.equal(again.stdout, 'chained 0 events\n');
      assert.equal((await test.tessera(['ledger', 'verify'])).code, 0);
    });

    it('bad usage exits 2', async (t) => {
      const test = await deployment(t, engine);
      assert.equal((await test.tessera(['ledger', 'verify', '--tenant', 'Not A Slug'])).code, 2);
      assert.equal((await test.tessera(['ledger', 'verify', '--bogus'])).code, 2);
      for (const threads of ['0', '17', 'two', '1.5']) {
        const run = await test.tessera(['ledger', 'verify', '--threads', threads]);
        assert.equal(run.code, 2, threads);
        assert.match(run.stderr, /--threads.*expected a whole number from 1 to 16/);
      }
      assert.equal((await test.tessera(['ledger', 'verify', '--range-events', '0'])).code, 2);
    });
  });
}
