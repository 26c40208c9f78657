import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { createOidcAdapter, endProviderSessionsOf } from './oidc-adapter.ts';

class Reused extends Error {}

async function setup(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  let clock = 1_800_000_000_000;
  const revoked: string[] = [];
  const adapterFor = createOidcAdapter({
    db: test.db,
    now: () => clock,
    onGrantRevoked: async (grantId) => {
      revoked.push(grantId);
    },
    alreadyConsumed: () => new Reused('grant request is invalid'),
  });
  return { db: test.db, adapterFor, revoked, advance: (ms: number) => (clock += ms) };
}

for (const engine of testEngines()) {
  describe(`oidc-provider's storage (${engine})`, () => {
    it('stores, finds, replaces and destroys payloads per model and id', async (t) => {
      const { adapterFor } = await setup(t, engine);
      const codes = adapterFor('AuthorizationCode');
      const tokens = adapterFor('RefreshToken');
      await codes.upsert('one', { kind: 'AuthorizationCode', grantId: 'g1', scope: 'openid' }, 60);
      assert.deepEqual(await codes.find('one'), {
        kind: 'AuthorizationCode',
        grantId: 'g1',
        scope: 'openid',
      });
      // Models do not see each other's ids.
      assert.equal(await tokens.find('one'), undefined);
      await codes.upsert('one', { kind: 'AuthorizationCode', grantId: 'g1', scope: 'email' }, 60);
      assert.equal((await codes.find('one'))?.scope, 'email');
      await codes.destroy('one');
      assert.equal(await codes.find('one'), undefined);
    });

    it('answers nothing past expiry, and sweeps expired rows as writes go by', async (t) => {
      const { db, adapterFor, advance } = await setup(t, engine);
      const interactions = adapterFor('Interaction');
      await interactions.upsert('old', { kind: 'Interaction' }, 10);
      advance(11_000);
      assert.equal(await interactions.find('old'), undefined);
      // The sweep runs once in a while; 200 writes make it run at least once.
      for (let i = 0; i < 200; i += 1)
        await interactions.upsert(`new-${i}`, { kind: 'Interaction' }, 600);
      const left = await db.kysely
        .selectFrom('oidc_payloads')
        .select('id')
        .where('id', '=', 'old')
        .executeTakeFirst();
      assert.equal(left, undefined);
    });

    it('finds a browser session by its uid', async (t) => {
      const { adapterFor } = await setup(t, engine);
      const sessions = adapterFor('Session');
      await sessions.upsert('cookie-1', { kind: 'Session', uid: 'uid-1', accountId: 'u1' }, 600);
      assert.equal((await sessions.findByUid('uid-1'))?.accountId, 'u1');
      assert.equal(await sessions.findByUid('uid-2'), undefined);
    });

    it('consumes once: of two racing uses exactly one wins; the loser revokes the grant', async (t) => {
      const { adapterFor, revoked } = await setup(t, engine);
      const codes = adapterFor('AuthorizationCode');
      await codes.upsert('code', { kind: 'AuthorizationCode', grantId: 'g-race' }, 60);
      const outcomes = await Promise.allSettled([codes.consume('code'), codes.consume('code')]);
      assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
      const loser = outcomes.find((outcome) => outcome.status === 'rejected');
      assert.ok(loser?.status === 'rejected' && loser.reason instanceof Reused);
      assert.deepEqual(revoked, ['g-race']);
      // The grant's rows are gone with it.
      assert.equal(await codes.find('code'), undefined);
    });

    it('marks a consumed payload with the time, in seconds', async (t) => {
      const { adapterFor } = await setup(t, engine);
      const tokens = adapterFor('RefreshToken');
      await tokens.upsert('rt', { kind: 'RefreshToken', grantId: 'g2' }, 600);
      await tokens.consume('rt');
      assert.equal((await tokens.find('rt'))?.consumed, 1_800_000_000);
    });

    it('revokes every row of a grant, of every model, and says so', async (t) => {
      const { adapterFor, revoked } = await setup(t, engine);
      await adapterFor('AuthorizationCode').upsert('c', { grantId: 'g3' }, 60);
      await adapterFor('RefreshToken').upsert('r', { grantId: 'g3' }, 600);
      await adapterFor('RefreshToken').upsert('other', { grantId: 'g4' }, 600);
      await adapterFor('Grant').revokeByGrantId('g3');
      assert.equal(await adapterFor('AuthorizationCode').find('c'), undefined);
      assert.equal(await adapterFor('RefreshToken').find('r'), undefined);
      assert.ok(await adapterFor('RefreshToken').find('other'));
      assert.deepEqual(revoked, ['g3']);
    });

    it("ends a user's browser sessions, and nobody else's", async (t) => {
      const { db, adapterFor } = await setup(t, engine);
      const sessions = adapterFor('Session');
      await sessions.upsert('s1', { uid: 'a', accountId: 'u1' }, 600);
      await sessions.upsert('s2', { uid: 'b', accountId: 'u2' }, 600);
      await adapterFor('Grant').upsert('g', { accountId: 'u1' }, 600);
      await endProviderSessionsOf(db.kysely, 'u1');
      assert.equal(await sessions.find('s1'), undefined);
      assert.ok(await sessions.find('s2'));
      assert.ok(await adapterFor('Grant').find('g'), 'only browser sessions end');
    });

    it('answers a model served elsewhere from there', async (t) => {
      const test = await openTestDatabase(engine);
      t.after(() => test.cleanup());
      await migrateToLatest(test.db, MIGRATIONS);
      const adapterFor = createOidcAdapter({
        db: test.db,
        onGrantRevoked: async () => {},
        alreadyConsumed: () => new Reused(),
        models: { Client: { find: async (id) => ({ client_id: id }) } },
      });
      assert.deepEqual(await adapterFor('Client').find('tc_1'), { client_id: 'tc_1' });
    });
  });
}
