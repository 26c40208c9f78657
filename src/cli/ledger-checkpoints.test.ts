import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import {
  appendEvents,
  checkpointsOf,
  ledgerCli,
  positionsOf,
  tamper,
} from '../../test/helpers/ledger-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';

/** In round-robin order, so every tenant's positions have others' between them. */
const TENANTS = ['acme', 't-rw', 't-cut', 't-forge', 't-unk'];

/**
 * Each tenant: six events, a checkpoint (at its event 5) by the scheduler's tick, a
 * key rotation, three more events, a checkpoint (at its event 8) by the new key.
 */
async function deployment(t: TestContext, engine: Engine) {
  const test = await buildTestApp(
    { auth: { key_publish_ahead_seconds: 0 }, ledger: { checkpoint_interval_events: 1 } },
    engine,
  );
  t.after(() => test.close());
  const { keys } = test.services.identity;
  await keys.ensureKey();
  const round = async (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const tenant of TENANTS) await appendEvents(test.db, tenant, 1);
    }
  };
  await round(6);
  const firstKeys = await keys.allPublicKeys();
  await test.services.ledger.checkpointScheduler.tick();
  await keys.rotate();
  await round(3);
  await test.services.ledger.checkpointScheduler.tick();
  const at = async (tenant: string, index: number) =>
    (await positionsOf(test.db, tenant))[index] as number;
  const checkpoint = async (tenant: string, index: number) =>
    (await checkpointsOf(test.db, tenant))[index] as never;
  const { dir, tessera, backup } = ledgerCli(t, test.config.storage);
  const jwksFile = (name: string, jwks: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(jwks));
    return path;
  };
  return { ...test, firstKeys, at, checkpoint, jwksFile, tessera, backup };
}

/** The tampering an attacker without the signing key can do, one tenant each. */
async function tamperAll(test: Awaited<ReturnType<typeof deployment>>) {
  const { db, at, checkpoint } = test;
  const expected = [
    `BROKEN: t-cut at position ${await at('t-cut', 6)}: checkpoint_mismatch (checkpoint at position ${await at('t-cut', 8)})`,
    `BROKEN: t-forge at position ${await at('t-forge', 8)}: checkpoint_signature (checkpoint at position ${await at('t-forge', 8)})`,
    `BROKEN: t-rw at position ${await at('t-rw', 6)}: checkpoint_mismatch (checkpoint at position ${await at('t-rw', 8)})`,
    `BROKEN: t-unk at position ${await at('t-unk', 8)}: unknown_key (checkpoint at position ${await at('t-unk', 8)})`,
  ];
  await tamper.rewriteFrom(db, 't-rw', await at('t-rw', 7));
  await tamper.cutTail(db, 't-cut', 2);
  await tamper.checkpoint(db, await checkpoint('t-forge', 1), 'forged');
  await tamper.checkpoint(db, await checkpoint('t-unk', 1), 'unknownKey');
  return expected;
}

/** Serves `body` at http://127.0.0.1:<port>/keys (anything else: 404) until the test ends. */
async function jwksServer(t: TestContext, body: unknown): Promise<string> {
  const server = createServer((request, response) => {
    if (request.url !== '/keys') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

for (const engine of testEngines()) {
  describe(`tessera ledger verify checks the signed checkpoints (${engine})`, () => {
    it("with the database's own keys: intact, then each tampering at its position", async (t) => {
      const test = await deployment(t, engine);
      assert.equal((await checkpointsOf(test.db, 'acme')).length, 2);
      const intact = await test.tessera(['ledger', 'verify']);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /^INTACT: 5 partitions, 45 events verified/);
      const expected = await tamperAll(test);
      const broken = await test.tessera(['ledger', 'verify']);
      assert.equal(broken.code, 1, broken.stderr);
      assert.deepEqual(broken.stdout.trim().split('\n'), expected);
      // On two threads in ranges of two events: each checkpoint judged once all before it verified.
      const threads = ['--threads', '2', '--range-events', '2'];
      const threaded = await test.tessera(['ledger', 'verify', ...threads]);
      assert.equal(threaded.code, 1, threaded.stderr);
      assert.deepEqual(threaded.stdout.trim().split('\n'), expected);
      const json = await test.tessera(['ledger', 'verify', '--tenant', 't-rw', '--json']);
      assert.deepEqual(JSON.parse(json.stdout).broken, [
        {
          partition: 't-rw',
          position: await test.at('t-rw', 6),
          reason: 'checkpoint_mismatch',
          checkpoint: await test.at('t-rw', 8),
        },
      ]);
    });

    it('--jwks FILE and URL replace the database keys; a JWKS lacking a key is unknown_key', async (t) => {
      const test = await deployment(t, engine);
      const all = { keys: await test.services.identity.keys.allPublicKeys() };
      const file = test.jwksFile('keys.json', all);
      const fromFile = await test.tessera(['ledger', 'verify', '--jwks', file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      const base = await jwksServer(t, all);
      const fromUrl = await test.tessera(['ledger', 'verify', '--jwks', `${base}/keys`]);
      assert.equal(fromUrl.code, 0, fromUrl.stderr);
      // Only the key before the rotation: the newer checkpoints name a key it lacks.
      const old = test.jwksFile('old.json', { keys: test.firstKeys });
      const lacking = await test.tessera(['ledger', 'verify', '--tenant', 'acme', '--jwks', old]);
      assert.equal(lacking.code, 1, lacking.stderr);
      const acme8 = await test.at('acme', 8);
      assert.equal(
        lacking.stdout,
        `BROKEN: acme at position ${acme8}: unknown_key (checkpoint at position ${acme8})\n`,
      );
      const expected = await tamperAll(test);
      const broken = await test.tessera(['ledger', 'verify', '--jwks', `${base}/keys`]);
      assert.deepEqual(broken.stdout.trim().split('\n'), expected);
    });

    it('--jwks that cannot be used exits 2 and verifies nothing', async (t) => {
      const test = await deployment(t, engine);
      const base = await jwksServer(t, { keys: [] });
      for (const source of [
        join(tmpdir(), 'no-such-jwks.json'),
        test.jwksFile('bad.json', 'not a key set'),
        `${base}/missing`,
      ]) {
        const run = await test.tessera(['ledger', 'verify', '--jwks', source]);
        assert.equal(run.code, 2, `${source}: ${run.stderr}`);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, /--jwks/);
      }
    });

    it('--backup: the checkpoints and keys come from the backup', async (t) => {
      const test = await deployment(t, engine);
      const good = await test.backup();
      const expected = await tamperAll(test);
      const bad = await test.backup();
      const intact = await test.tessera(['ledger', 'verify', '--backup', good]);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /^INTACT: 5 partitions, 45 events verified/);
      const broken = await test.tessera(['ledger', 'verify', '--backup', bad]);
      assert.equal(broken.code, 1, broken.stderr);
      assert.deepEqual(broken.stdout.trim().split('\n'), expected);
      const threads = ['--threads', '2', '--range-events', '3'];
      const threaded = await test.tessera(['ledger', 'verify', '--backup', bad, ...threads]);
      assert.deepEqual(threaded.stdout.trim().split('\n'), expected);
      const old = test.jwksFile('old.json', { keys: test.firstKeys });
      const lacking = await test.tessera(['ledger', 'verify', '--backup', good, '--jwks', old]);
      assert.equal(lacking.code, 1);
      assert.equal(lacking.stdout.trim().split('\n').length, 5, 'each partition names the key');
    });
  });
}
