import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { appendChained } from '../../test/helpers/ledger-chain-fixture.ts';
import { positionsOf, tamper } from '../../test/helpers/ledger-fixture.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { openChainLog } from '../events/chain/chain-log.ts';
import { createBackgroundVerifier } from './background-verifier.ts';

async function verifierOn(
  t: Parameters<typeof tenancyTestApp>[0],
  engine: Parameters<typeof tenancyTestApp>[1],
  tuning = {},
) {
  const test = await tenancyTestApp(t, engine);
  const errors: { object: object; message: string }[] = [];
  const registry = new Registry();
  const verifier = createBackgroundVerifier({
    kysely: test.db.kysely,
    chain: openChainLog(test.db),
    keys: test.services.identity.keys,
    metrics: registry,
    log: { error: (object, message) => errors.push({ object, message }) },
    ...tuning,
  });
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name))
      .split('\n')
      .filter((line) => !line.startsWith('#'));
  return { test, verifier, errors, metric };
}

for (const engine of testEngines()) {
  describe(`background ledger verifier (${engine})`, () => {
    it('finds nothing in intact chains, checkpointed or not', async (t) => {
      const { test, verifier, errors, metric } = await verifierOn(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 3);
      await appendChained(test.db, 'globex', 2);
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      await appendChained(test.db, 'acme', 2);
      assert.deepEqual(await verifier.run(), []);
      assert.deepEqual(errors, []);
      assert.deepEqual(await metric('tessera_ledger_broken_partitions'), [
        'tessera_ledger_broken_partitions 0',
      ]);
      assert.deepEqual(await metric('tessera_ledger_verify_runs_total'), [
        'tessera_ledger_verify_runs_total 1',
      ]);
    });

    it('reports an event edited by SQL after the latest checkpoint: log error and metrics', async (t) => {
      const { test, verifier, errors, metric } = await verifierOn(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 2);
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      await appendChained(test.db, 'acme', 3);
      await appendChained(test.db, 'globex', 2);
      const edited = (await positionsOf(test.db, 'acme'))[3] ?? 0;
      await tamper.editPayload(test.db, edited);
      const found = await verifier.run();
      assert.deepEqual(found, [{ partition: 'acme', position: edited, reason: 'hash_mismatch' }]);
      assert.deepEqual(errors, [
        {
          object: { partition: 'acme', position: edited, reason: 'hash_mismatch' },
          message: 'ledger chain broken',
        },
      ]);
      assert.deepEqual(await metric('tessera_ledger_broken_partitions'), [
        'tessera_ledger_broken_partitions 1',
      ]);
      assert.deepEqual(await metric('tessera_ledger_verify_breaks_total'), [
        'tessera_ledger_verify_breaks_total{reason="hash_mismatch"} 1',
      ]);
    });

    it('reports a rewritten checkpointed event and a forged checkpoint signature', async (t) => {
      const { test, verifier, metric } = await verifierOn(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      const acme = await appendChained(test.db, 'acme', 2);
      const globex = await appendChained(test.db, 'globex', 2);
      await test.send('POST', '/ledger/checkpoints', auditor);
      await test.send('POST', '/ledger/checkpoints', await test.keyFor('globex', 'auditor'));
      // acme: the checkpointed event's hash rewritten (as a chain rewrite would).
      await sql`UPDATE events SET hash = ${'ab'.repeat(32)} WHERE position = ${acme.position}`.execute(
        test.db.kysely,
      );
      // globex: the checkpoint's signature replaced by another's (a forged signature).
      const { rows } = await sql<{ partition: string; jws: string }>`SELECT partition, jws
        FROM ledger_checkpoints ORDER BY partition`.execute(test.db.kysely);
      const jws = new Map(rows.map((row) => [row.partition, row.jws.split('.')]));
      const [header, payload] = jws.get('globex') ?? [];
      const forged = `${header}.${payload}.${jws.get('acme')?.[2]}`;
      await sql`UPDATE ledger_checkpoints SET jws = ${forged} WHERE partition = 'globex'`.execute(
        test.db.kysely,
      );
      const found = await verifier.run();
      assert.deepEqual(
        found.map((one) => [one.partition, one.position, one.reason]),
        [
          ['acme', acme.position, 'checkpoint_mismatch'],
          ['globex', globex.position, 'checkpoint_signature'],
        ],
      );
      assert.deepEqual(await metric('tessera_ledger_broken_partitions'), [
        'tessera_ledger_broken_partitions 2',
      ]);
    });

    it('bounds a run and continues round-robin; a partition repaired leaves the gauge', async (t) => {
      const { test, verifier, metric } = await verifierOn(t, engine, {
        partitionsPerRun: 1,
        eventsPerRun: 100,
      });
      await appendChained(test.db, 'acme', 2);
      await appendChained(test.db, 'globex', 2);
      const [first] = await positionsOf(test.db, 'globex');
      await tamper.editPayload(test.db, first ?? 0);
      assert.deepEqual(await verifier.run(), [], 'acme first');
      const found = await verifier.run();
      assert.deepEqual(
        found.map((one) => one.partition),
        ['globex'],
      );
      assert.deepEqual(await verifier.run(), [], 'acme again');
      assert.deepEqual(await metric('tessera_ledger_broken_partitions'), [
        'tessera_ledger_broken_partitions 1',
      ]);
    });
  });
}
