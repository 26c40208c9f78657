import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  appendEvents,
  checkpointsOf,
  positionsOf,
  tamper,
} from '../../test/helpers/ledger-fixture.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';

/**
 * acme's log: six events, a checkpoint (at acme[5]), three more, another checkpoint
 * (at acme[8]); globex's events between them, so positions are not consecutive.
 */
async function checkpointedApp(t: TestContext, engine: Engine, verifyBatch?: number) {
  const test = await tenancyTestApp(t, engine, {
    // A rotated key signs at once: the next checkpoint is the new key's.
    auth: { key_publish_ahead_seconds: 0 },
    ...(verifyBatch === undefined ? {} : { ledger: { verify_batch: verifyBatch } }),
  });
  const auditor = await test.keyFor('acme', 'auditor');
  const checkpoint = async () => {
    const made = await test.send('POST', '/ledger/checkpoints', auditor);
    if (made.status !== 200) throw new Error(JSON.stringify(made.body));
  };
  const round = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await appendEvents(test.db, 'acme', 1);
      await appendEvents(test.db, 'globex', 1);
    }
  };
  await round(6);
  await checkpoint();
  await round(3);
  await checkpoint();
  const acme = await positionsOf(test.db, 'acme');
  const checkpoints = await checkpointsOf(test.db, 'acme');
  assert.deepEqual(
    checkpoints.map((row) => row.position),
    [acme[5], acme[8]],
  );
  const verify = async (query = '') => test.send('GET', `/audit/verify${query}`, auditor);
  /** Follows next_cursor to the end or the first break; returns the last answer. */
  const verifyAll = async () => {
    let cursor: string | null = null;
    for (let requests = 0; requests < 200; requests++) {
      const reply = await verify(cursor ? `?cursor=${cursor}` : '');
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      cursor = reply.body.next_cursor as string | null;
      if (cursor === null) return reply;
    }
    throw new Error('verification never ended');
  };
  return { ...test, acme, checkpoints, checkpoint, round, verify, verifyAll };
}

const at = (list: readonly number[], index: number) => list[index] as number;

for (const engine of testEngines()) {
  describe(`GET /audit/verify checks the signed checkpoints (${engine})`, () => {
    it('passes with checkpoints, one signed by a key since rotated', async (t) => {
      const test = await checkpointedApp(t, engine);
      await test.services.identity.keys.rotate();
      await test.round(2);
      await test.checkpoint();
      const kids = new Set((await checkpointsOf(test.db, 'acme')).map((row) => row.kid));
      assert.equal(kids.size, 2, 'the last checkpoint is signed by the new key');
      const reply = await test.verify();
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.ok, true, JSON.stringify(reply.body));
      assert.equal(reply.body.first_broken, null);
    });

    it('reports a consistent rewrite after the last checkpoint that holds', async (t) => {
      const test = await checkpointedApp(t, engine);
      await tamper.rewriteFrom(test.db, 'acme', at(test.acme, 7));
      const reply = await test.verify();
      assert.equal(reply.body.ok, false);
      // The rewrite lies in (acme[5], acme[8]]: reported at the first event after acme[5].
      assert.deepEqual(reply.body.first_broken, {
        partition: 'events',
        position: at(test.acme, 6),
        reason: 'checkpoint_mismatch',
        checkpoint: at(test.acme, 8),
      });
      // Every event verified as a chain up to the failing checkpoint.
      assert.equal(reply.body.checked, 9);
    });

    it('reports a rewrite before the first checkpoint at the first event', async (t) => {
      const test = await checkpointedApp(t, engine);
      await tamper.rewriteFrom(test.db, 'acme', at(test.acme, 2));
      const reply = await test.verify();
      assert.deepEqual(reply.body.first_broken, {
        partition: 'events',
        position: at(test.acme, 0),
        reason: 'checkpoint_mismatch',
        checkpoint: at(test.acme, 5),
      });
    });

    it('reports the same rewrite when found a few events per request, and in a range', async (t) => {
      const test = await checkpointedApp(t, engine, 2);
      await tamper.rewriteFrom(test.db, 'acme', at(test.acme, 7));
      const expected = {
        partition: 'events',
        position: at(test.acme, 6),
        reason: 'checkpoint_mismatch',
        checkpoint: at(test.acme, 8),
      };
      // The request that meets acme[8] never saw acme[5]: the one before is looked up.
      assert.deepEqual((await test.verifyAll()).body.first_broken, expected);
      const range = await test.verify(`?from=${at(test.acme, 7)}&to=${at(test.acme, 8)}`);
      assert.deepEqual(range.body.first_broken, expected);
      // A range that ends before the failing checkpoint sees nothing wrong.
      const before = await test.verify(`?from=${at(test.acme, 7)}&to=${at(test.acme, 7)}`);
      assert.equal(before.body.ok, true, JSON.stringify(before.body));
    });

    it('reports a cut tail whose head was moved back', async (t) => {
      const test = await checkpointedApp(t, engine);
      await tamper.cutTail(test.db, 'acme', 2);
      const reply = await test.verify();
      assert.deepEqual(reply.body.first_broken, {
        partition: 'events',
        position: at(test.acme, 6),
        reason: 'checkpoint_mismatch',
        checkpoint: at(test.acme, 8),
      });
    });

    for (const [how, reason] of [
      ['forged', 'checkpoint_signature'],
      ['edited', 'checkpoint_signature'],
      ['unknownKey', 'unknown_key'],
    ] as const) {
      it(`reports a checkpoint ${how} as ${reason}, at its position`, async (t) => {
        const test = await checkpointedApp(t, engine);
        await tamper.checkpoint(test.db, test.checkpoints[1] as never, how);
        const reply = await test.verify();
        assert.deepEqual(reply.body.first_broken, {
          partition: 'events',
          position: at(test.acme, 8),
          reason,
          checkpoint: at(test.acme, 8),
        });
      });
    }

    it("neither reads nor reports another tenant's checkpoints", async (t) => {
      const test = await checkpointedApp(t, engine);
      const globexAuditor = await test.keyFor('globex', 'auditor');
      assert.equal((await test.send('POST', '/ledger/checkpoints', globexAuditor)).status, 200);
      await tamper.checkpoint(test.db, test.checkpoints[1] as never, 'forged');
      const theirs = await test.send('GET', '/audit/verify', globexAuditor);
      assert.equal(theirs.body.ok, true, JSON.stringify(theirs.body));
      const globex = (await checkpointsOf(test.db, 'globex'))[0];
      await tamper.checkpoint(test.db, globex as never, 'unknownKey');
      // acme's answer names acme's forgery, never globex's.
      const ours = await test.verify();
      assert.equal((ours.body.first_broken as { reason: string }).reason, 'checkpoint_signature');
    });
  });
}
