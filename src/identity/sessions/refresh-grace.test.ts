import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { refused, rotated, setup } from '../../../test/helpers/session-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { Engine } from '../../storage/database.ts';
import { successorKeyFrom } from './session-store.ts';

/** A session store with a 10 s grace period, its clock moved by hand. */
const withGrace = (t: TestContext, engine: Engine) =>
  setup(t, engine, 3600, { graceSeconds: 10, successorKey: successorKeyFrom(randomBytes(32)) });

for (const engine of testEngines()) {
  describe(`refresh token grace period (${engine})`, () => {
    it('gives concurrent refreshes with one token the same successor, session alive', async (t) => {
      const { store } = await withGrace(t, engine);
      const started = await store.start('u1', 'acme');
      const results = await Promise.all(
        Array.from({ length: 4 }, () => rotated(store.rotate(started.refresh_token))),
      );
      const successors = new Set(results.map((r) => r.refresh_token));
      assert.equal(successors.size, 1);
      assert.notEqual([...successors][0], started.refresh_token);
      assert.equal((await store.find(started.session_id))?.revoked_ms, null);
      // The successor works, once, as ever.
      const next = await rotated(store.rotate(results[0]?.refresh_token as string));
      assert.equal(next.session.id, started.session_id);
    });

    it('gives the same successor to a second use within the window, not after it', async (t) => {
      const { store, advance } = await withGrace(t, engine);
      const started = await store.start('u1', 'acme');
      const first = await rotated(store.rotate(started.refresh_token));
      advance(10_000);
      assert.equal(
        (await rotated(store.rotate(started.refresh_token))).refresh_token,
        first.refresh_token,
      );
      advance(1);
      await refused(store.rotate(started.refresh_token), 'reused');
      assert.ok((await store.find(started.session_id))?.revoked_ms);
      await refused(store.rotate(first.refresh_token), 'ended');
    });

    it('ends the session when a token comes back after its successor was used', async (t) => {
      const { store, advance } = await withGrace(t, engine);
      const started = await store.start('u1', 'acme');
      const first = await rotated(store.rotate(started.refresh_token));
      advance(1_000);
      await rotated(store.rotate(first.refresh_token));
      // Two generations back, well within the window: a replay, not a second tab.
      await refused(store.rotate(started.refresh_token), 'reused');
      assert.ok((await store.find(started.session_id))?.revoked_ms);
    });

    it('ends the session on any second use when the grace period is 0', async (t) => {
      const { store } = await setup(t, engine, 3600, {
        graceSeconds: 0,
        successorKey: successorKeyFrom(randomBytes(32)),
      });
      const started = await store.start('u1', 'acme');
      await rotated(store.rotate(started.refresh_token));
      await refused(store.rotate(started.refresh_token), 'reused');
    });
  });
}
