import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refused, rotated, setup } from '../../../test/helpers/session-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';

for (const engine of testEngines()) {
  describe(`session store (${engine})`, () => {
    it('rotates refresh tokens: each works once and its successor works', async (t) => {
      const { store } = await setup(t, engine);
      const started = await store.start('u1', 'acme');
      assert.match(started.refresh_token, /^tsr_[A-Za-z0-9_-]{43}$/);
      const first = await rotated(store.rotate(started.refresh_token));
      assert.equal(first.session.id, started.session_id);
      assert.equal(first.session.user_id, 'u1');
      assert.equal(first.session.tenant_status, 'active');
      const second = await rotated(store.rotate(first.refresh_token));
      assert.notEqual(second.refresh_token, first.refresh_token);
      await refused(store.rotate('tsr_unknown'), 'invalid');
    });

    it('ends the whole session when a used refresh token comes back', async (t) => {
      const { store } = await setup(t, engine);
      const started = await store.start('u1', 'acme');
      const next = await rotated(store.rotate(started.refresh_token));
      await refused(store.rotate(started.refresh_token), 'reused');
      assert.ok((await store.find(started.session_id))?.revoked_ms);
      // The legitimate successor dies with the session.
      await refused(store.rotate(next.refresh_token), 'ended');
    });

    it('lets exactly one of concurrent refreshes with the same token win', async (t) => {
      const { store } = await setup(t, engine);
      const started = await store.start('u1', 'acme');
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.rotate(started.refresh_token)),
      );
      assert.equal(results.filter((r) => r.kind === 'rotated').length, 1);
    });

    it('refuses expired tokens and sessions', async (t) => {
      const { store, advance } = await setup(t, engine, 600);
      const started = await store.start('u1', 'acme');
      advance(601_000);
      await refused(store.rotate(started.refresh_token), 'invalid');
    });

    it('revokes every session of a user but the one kept', async (t) => {
      const { store } = await setup(t, engine);
      const a = await store.start('u1', 'acme');
      const b = await store.start('u1', 'acme');
      const other = await store.start('u2', 'acme');
      await store.revokeAllOfUser('u1', 'password_changed', b.session_id);
      assert.ok((await store.find(a.session_id))?.revoked_ms);
      assert.equal((await store.find(b.session_id))?.revoked_ms, null);
      assert.equal((await store.find(other.session_id))?.revoked_ms, null);
      await store.revoke(b.session_id, 'logout');
      assert.ok((await store.find(b.session_id))?.revoked_ms);
      assert.equal(await store.find('no-such-session'), undefined);
    });

    it('records where a session logs in and refreshes from, and its use at most once a minute', async (t) => {
      const { db, store, advance } = await setup(t, engine);
      const row = async (id: string) =>
        db.kysely
          .selectFrom('sessions')
          .select(['last_used_ms', 'ip', 'user_agent', 'created_ms'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
      const started = await store.start('u1', 'acme', { ip: '198.51.100.7', user_agent: 'A/1' });
      const first = await row(started.session_id);
      assert.deepEqual(
        { ip: first.ip, user_agent: first.user_agent },
        { ip: '198.51.100.7', user_agent: 'A/1' },
      );
      assert.equal(Number(first.last_used_ms), Number(first.created_ms));
      advance(30_000);
      await store.touch(started.session_id);
      advance(20_000);
      await store.touch(started.session_id);
      assert.equal(Number((await row(started.session_id)).last_used_ms), Number(first.created_ms));
      advance(20_000);
      await store.touch(started.session_id);
      assert.equal(
        Number((await row(started.session_id)).last_used_ms),
        Number(first.created_ms) + 70_000,
      );
      advance(1_000);
      await rotated(store.rotate(started.refresh_token, { ip: '203.0.113.5', user_agent: 'B/2' }));
      const refreshed = await row(started.session_id);
      assert.deepEqual(
        { ip: refreshed.ip, user_agent: refreshed.user_agent },
        { ip: '203.0.113.5', user_agent: 'B/2' },
      );
      assert.equal(Number(refreshed.last_used_ms), Number(first.created_ms) + 71_000);
    });
  });
}

describe('session store credential announcements (postgres)', () => {
  it('announces a revocation but not a touch or refresh', async (t) => {
    if (!testEngines().includes('postgres')) return t.skip('no PostgreSQL configured');
    const { db, store, advance } = await setup(t, 'postgres');
    if (db.engine !== 'postgres') throw new Error('expected PostgreSQL');
    const heard: string[] = [];
    const listener = await db.pool.connect();
    try {
      listener.on('notification', (message) => heard.push(String(message.payload)));
      await listener.query('LISTEN tessera_credentials');
      const started = await store.start('u1', 'acme');
      advance(120_000);
      await store.touch(started.session_id);
      await rotated(store.rotate(started.refresh_token, { ip: '203.0.113.5', user_agent: 'B/2' }));
      await store.revoke(started.session_id, 'logout');
      // Notifications arrive in commit order: any from the touch or refresh came first.
      await until(() => heard.length > 0, 'the revocation is announced');
      assert.deepEqual(heard, [`session:${started.session_id}`]);
    } finally {
      listener.release();
    }
  });
});
