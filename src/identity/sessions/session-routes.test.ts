import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Credential } from '../../../test/helpers/tenancy-fixture.ts';
import {
  PASSWORD,
  type UsersTestApp,
  usersTestApp,
} from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/** Logs in through the API from `ip` with `agent`; returns the token and refresh token. */
async function loginFrom(
  app: UsersTestApp,
  email: string,
  tenant: string,
  agent: string,
  ip = '198.51.100.7',
): Promise<{ token: Credential & { token: string }; refresh: string }> {
  const response = await app.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { 'user-agent': agent },
    remoteAddress: ip,
    payload: { email, password: PASSWORD, tenant_id: tenant },
  });
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json<{ access_token: string; refresh_token: string }>();
  return { token: { token: body.access_token }, refresh: body.refresh_token };
}

async function sessionsOf(app: UsersTestApp, as: Credential, url = '/auth/sessions') {
  const reply = await app.send('GET', url, as);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.sessions as Json[];
}

for (const engine of testEngines()) {
  describe(`session routes (${engine})`, () => {
    it('lists the caller’s own sessions in this tenant, with address and user agent', async (t) => {
      const app = await usersTestApp(t, engine);
      const vic = await app.member('acme', 'vic@example.com', ['viewer']);
      await app.send('POST', '/users', await app.keyFor('beta'), {
        email: 'vic@example.com',
        name: 'Vic',
        roles: ['viewer'],
      });
      await app.accept('vic@example.com', 'beta');
      await loginFrom(app, 'vic@example.com', 'beta', 'Elsewhere/1');
      const laptop = await loginFrom(app, 'vic@example.com', 'acme', 'Laptop/1.0', '203.0.113.9');
      const sessions = await sessionsOf(app, laptop.token);
      assert.equal(sessions.length, 2, 'the session in beta is not listed in acme');
      const current = sessions.find((s) => s.current);
      assert.equal(current?.ip, '203.0.113.9');
      assert.equal(current?.user_agent, 'Laptop/1.0');
      assert.equal(typeof current?.last_used_at, 'string');
      assert.ok(Date.parse(String(current?.expires_at)) > Date.now());
      assert.equal(sessions.filter((s) => s.current).length, 1);

      // A refresh records where it came from.
      const refreshed = await app.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        headers: { 'user-agent': 'Laptop/2.0' },
        remoteAddress: '192.0.2.44',
        payload: { refresh_token: laptop.refresh },
      });
      assert.equal(refreshed.statusCode, 200);
      const after = (await sessionsOf(app, vic.token)).find((s) => s.id === current?.id);
      assert.deepEqual([after?.ip, after?.user_agent], ['192.0.2.44', 'Laptop/2.0']);
      const paged = await app.send('GET', '/auth/sessions?limit=1', vic.token);
      assert.equal((paged.body.sessions as Json[]).length, 1);
      assert.equal(typeof paged.body.next_cursor, 'string');
    });

    it('ends one own session at once, and refuses other people’s', async (t) => {
      const app = await usersTestApp(t, engine);
      const vic = await app.member('acme', 'vic@example.com', ['viewer']);
      const bob = await app.member('acme', 'bob@example.com', ['viewer']);
      const phone = await loginFrom(app, 'vic@example.com', 'acme', 'Phone/1');
      const phoneId = (await sessionsOf(app, phone.token)).find((s) => s.current)?.id;
      const bobsId = (await sessionsOf(app, bob.token))[0]?.id;

      for (const id of [bobsId, 'no-such-session']) {
        const reply = await app.send('DELETE', `/auth/sessions/${id}`, vic.token);
        assert.equal(reply.status, 404);
        assert.equal(reply.body.code, 'session_not_found');
      }
      assert.equal((await app.send('GET', '/auth/me', bob.token)).status, 200);
      assert.equal((await app.send('DELETE', `/auth/sessions/${phoneId}`, vic.token)).status, 204);
      const dead = await app.send('GET', '/auth/me', phone.token);
      assert.equal(dead.status, 401);
      assert.equal(dead.body.code, 'session_revoked');
      assert.equal((await app.send('GET', '/auth/me', vic.token)).status, 200);
      const again = await app.send('DELETE', `/auth/sessions/${phoneId}`, vic.token);
      assert.equal(again.status, 404);

      const events = await app.audit('acme', 'session');
      assert.deepEqual(
        events.map((e) => [e.action, e.actor, e.target, e.outcome, e.details]),
        [
          [
            'session.revoked',
            vic.id,
            `session:${phoneId}`,
            'success',
            { user_id: vic.id, current: false },
          ],
        ],
      );
    });

    it('ends every other own session and keeps the current one', async (t) => {
      const app = await usersTestApp(t, engine);
      const vic = await app.member('acme', 'vic@example.com', ['viewer']);
      const others = [
        await loginFrom(app, 'vic@example.com', 'acme', 'A/1'),
        await loginFrom(app, 'vic@example.com', 'acme', 'B/1'),
      ];
      const bob = await app.member('acme', 'bob@example.com', ['viewer']);
      const reply = await app.send('DELETE', '/auth/sessions', vic.token);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { revoked: 2 });
      for (const other of others) {
        assert.equal((await app.send('GET', '/auth/me', other.token)).status, 401);
      }
      assert.equal((await app.send('GET', '/auth/me', vic.token)).status, 200);
      assert.equal((await app.send('GET', '/auth/me', bob.token)).status, 200);
      assert.equal((await sessionsOf(app, vic.token)).length, 1);
      const [event] = await app.audit('acme', 'sessions.');
      assert.equal(event?.action, 'sessions.revoked');
      assert.equal(event?.actor, vic.id);
      assert.equal(event?.target, `user:${vic.id}`);
      assert.equal(event?.details.count, 2);
    });

    it('lets an administrator list and end a member’s sessions, in their tenant only', async (t) => {
      const app = await usersTestApp(t, engine);
      const admin = await app.keyFor('acme');
      const vic = await app.member('acme', 'vic@example.com', ['viewer']);
      await loginFrom(app, 'vic@example.com', 'acme', 'Tablet/3');
      const bea = await app.member('beta', 'bea@example.com', ['viewer']);
      const listed = await sessionsOf(app, admin, `/users/${vic.id}/sessions`);
      assert.deepEqual(listed.map((s) => s.user_agent).sort(), ['Tablet/3', 'lightMyRequest']);
      assert.ok(listed.every((s) => s.current === false));

      for (const method of ['GET', 'DELETE']) {
        const reply = await app.send(method, `/users/${bea.id}/sessions`, admin);
        assert.equal(reply.status, 404, method);
        assert.equal(reply.body.code, 'user_not_found');
      }
      assert.equal((await app.send('GET', '/auth/me', bea.token)).status, 200);

      const ended = await app.send('DELETE', `/users/${vic.id}/sessions`, admin);
      assert.deepEqual(ended.body, { revoked: 2 });
      assert.equal((await app.send('GET', '/auth/me', vic.token)).status, 401);
      assert.deepEqual(await sessionsOf(app, admin, `/users/${vic.id}/sessions`), []);
      const [event] = await app.audit('acme', 'sessions.');
      assert.equal(event?.actor_type, 'api_key');
      assert.equal(event?.target, `user:${vic.id}`);
      assert.equal(event?.outcome, 'success');
      assert.equal((event?.details.session_ids as unknown[] | undefined)?.length, 2);
    });

    it('refuses API keys, missing credentials, missing permission and bad input', async (t) => {
      const app = await usersTestApp(t, engine);
      const admin = await app.keyFor('acme');
      const vic = await app.member('acme', 'vic@example.com', ['viewer']);
      for (const [method, url] of [
        ['GET', '/auth/sessions'],
        ['DELETE', '/auth/sessions'],
        ['DELETE', '/auth/sessions/some-id'],
      ] as const) {
        const reply = await app.send(method, url, admin);
        assert.equal(reply.status, 400, `${method} ${url}`);
        assert.equal(reply.body.code, 'bad_request');
      }
      for (const [method, url] of [
        ['GET', '/auth/sessions'],
        ['DELETE', '/auth/sessions'],
        ['DELETE', '/auth/sessions/some-id'],
        ['GET', `/users/${vic.id}/sessions`],
        ['DELETE', `/users/${vic.id}/sessions`],
      ] as const) {
        assert.equal((await app.send(method, url, null)).status, 401, `${method} ${url}`);
      }
      for (const caller of [vic.token, await app.keyFor('acme', 'developer')]) {
        for (const method of ['GET', 'DELETE']) {
          const reply = await app.send(method, `/users/${vic.id}/sessions`, caller);
          assert.equal(reply.status, 403, method);
          assert.equal(reply.body.code, 'permission_denied');
        }
      }
      for (const url of ['/auth/sessions?limit=0', '/auth/sessions?extra=1']) {
        assert.equal((await app.send('GET', url, vic.token)).status, 400, url);
      }
      assert.equal((await app.send('GET', `/users/${vic.id}/sessions?limit=x`, admin)).status, 400);
      assert.equal((await sessionsOf(app, vic.token)).length, 1, 'nothing was revoked');
      assert.deepEqual(await app.audit('acme', 'session'), []);
    });
  });
}
