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

async function activeAdmins(app: UsersTestApp, tenant = 'acme'): Promise<unknown[]> {
  const reply = await app.send('GET', '/users?role=admin&status=active', await app.keyFor(tenant));
  return (reply.body.users as Json[]).map((user) => user.email);
}

for (const engine of testEngines()) {
  describe(`user lifecycle (${engine})`, () => {
    it('ends a deactivated user’s sessions at once and refuses their logins until activated', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, audit } = app;
      const admin = await keyFor('acme');
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      await member('beta', 'bea@example.com', ['admin']);
      await send('POST', '/users', await keyFor('beta'), {
        email: 'vic@example.com',
        name: 'Vic',
        roles: ['viewer'],
      });
      await app.accept('vic@example.com', 'beta');
      const login = { email: 'vic@example.com', password: PASSWORD, tenant_id: 'acme' };
      const refresh = (await send('POST', '/auth/login', null, login)).body.refresh_token;
      assert.equal((await send('GET', '/auth/me', vic.token)).status, 200);

      const off = await send('POST', `/users/${vic.id}/deactivate`, admin);
      assert.equal(off.status, 200);
      assert.equal(off.body.status, 'deactivated');
      const me = await send('GET', '/auth/me', vic.token);
      assert.equal(me.status, 401);
      assert.equal(me.body.code, 'session_revoked');
      const refreshed = await send('POST', '/auth/refresh', null, { refresh_token: refresh });
      assert.equal(refreshed.status, 401);
      const named = await send('POST', '/auth/login', null, login);
      assert.equal(named.status, 403);
      assert.equal(named.body.code, 'membership_deactivated');
      // The deactivated membership does not count: the other tenant is the only one left.
      const unnamed = await send('POST', '/auth/login', null, { ...login, tenant_id: undefined });
      assert.equal(unnamed.status, 200);
      assert.equal(unnamed.body.tenant_id, 'beta');
      assert.equal(
        (await send('POST', `/users/${vic.id}/deactivate`, await keyFor('beta'))).status,
        200,
      );
      const none = await send('POST', '/auth/login', null, { ...login, tenant_id: undefined });
      assert.equal(none.status, 403);
      assert.equal(none.body.code, 'membership_deactivated');
      assert.equal((await send('POST', `/users/${vic.id}/deactivate`, admin)).status, 200);

      const on = await send('POST', `/users/${vic.id}/activate`, admin);
      assert.equal(on.body.status, 'active');
      assert.equal((await send('POST', '/auth/login', null, login)).status, 200);

      const events = await audit('acme', 'user.');
      assert.deepEqual(
        events.map((e) => [e.action, e.target, e.outcome, e.actor_type]),
        [
          ['user.deactivated', `user:${vic.id}`, 'success', 'api_key'],
          ['user.activated', `user:${vic.id}`, 'success', 'api_key'],
        ],
      );
      assert.equal((events[0]?.details.sessions_revoked as unknown[] | undefined)?.length, 2);
    });

    it('removes a membership, and erases an identity left with none', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, services, db, audit, sessionRows } = app;
      const admin = await keyFor('acme');
      const vic = await member('acme', 'vic@example.com', ['developer']);
      const { secret } = await services.identity.apiKeys.create({
        tenant_id: 'acme',
        name: 'made by vic',
        role: 'viewer',
        created_by: vic.id,
        expires_ms: null,
      });
      const at = Date.now();
      await db.kysely
        .insertInto('teams')
        .values({ tenant_id: 'acme', id: 't1', name: 'Core', created_ms: at, updated_ms: at })
        .execute();
      await db.kysely
        .insertInto('team_members')
        .values({ tenant_id: 'acme', team_id: 't1', user_id: vic.id, created_ms: at })
        .execute();

      assert.equal((await send('GET', '/stats', { key: secret })).status, 200);
      assert.equal((await send('DELETE', `/users/${vic.id}`, admin)).status, 204);
      assert.equal((await send('GET', '/auth/me', vic.token)).status, 401);
      assert.equal(await services.identity.users.findById(vic.id), undefined);
      assert.equal(await sessionRows(vic.id), 0);
      const teamRows = await db.kysely.selectFrom('team_members').selectAll().execute();
      assert.deepEqual(teamRows, []);
      // A key is capped by its creator's roles (issue 15): an erased creator's keys are revoked.
      const refused = await send('GET', '/stats', { key: secret });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'api_key_revoked');
      const [key] = await db.kysely
        .selectFrom('api_keys')
        .select(['created_by', 'revoked_ms'])
        .where('name', '=', 'made by vic')
        .execute();
      assert.equal(key?.created_by, vic.id);
      assert.notEqual(key?.revoked_ms, null);
      assert.equal((await send('GET', `/users/${vic.id}`, admin)).status, 404);
      assert.deepEqual(
        (await audit('acme', 'user.')).map((e) => [e.action, e.target]),
        [
          ['user.removed', `user:${vic.id}`],
          ['user.erased', `user:${vic.id}`],
        ],
      );
    });

    it('keeps an identity that still belongs to another tenant', async (t) => {
      const { send, member, keyFor, services, audit, accept } = await usersTestApp(t, engine);
      const bob = await member('beta', 'bob@example.com', ['viewer']);
      const admin = await keyFor('acme');
      await send('POST', '/users', admin, {
        email: 'bob@example.com',
        name: 'B',
        roles: ['viewer'],
      });
      const inAcme = await accept('bob@example.com', 'acme');
      assert.equal((await send('DELETE', `/users/${bob.id}`, admin)).status, 204);
      assert.equal((await send('GET', '/auth/me', inAcme)).status, 401);
      assert.equal((await send('GET', '/auth/me', bob.token)).status, 200);
      assert.equal((await services.identity.users.findById(bob.id))?.email, 'bob@example.com');
      assert.deepEqual(
        (await audit('acme', 'user.')).map((e) => e.action),
        ['user.invited', 'user.removed'],
      );
    });

    it('never removes, deactivates or demotes the last active admin', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, audit } = app;
      const admin = await keyFor('acme');
      const ada = await member('acme', 'ada@example.com', ['admin']);
      const bob = await member('acme', 'bob@example.com', ['admin', 'viewer']);
      assert.equal((await send('POST', `/users/${bob.id}/deactivate`, admin)).status, 200);
      for (const caller of [admin, ada.token]) {
        for (const [method, url, payload] of [
          ['POST', `/users/${ada.id}/deactivate`, undefined],
          ['DELETE', `/users/${ada.id}`, undefined],
          ['PUT', `/users/${ada.id}/roles`, { roles: ['viewer'] }],
        ] as const) {
          const reply = await send(method, url, caller, payload);
          assert.equal(reply.status, 409, `${method} ${url}`);
          assert.equal(reply.body.code, 'last_admin');
        }
      }
      assert.deepEqual(await activeAdmins(app), ['ada@example.com']);
      // A deactivated admin may still lose the role: the tenant keeps an active one.
      const demoted = await send('PUT', `/users/${bob.id}/roles`, admin, { roles: ['viewer'] });
      assert.equal(demoted.status, 200);
      assert.deepEqual(
        (await audit('acme', 'user.')).map((e) => e.action),
        ['user.deactivated', 'user.roles_changed'],
      );
    });

    it('lets exactly one of two concurrent demotions of the last two admins succeed', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, audit } = app;
      const second = [
        (id: string, as: Credential) => send('PUT', `/users/${id}/roles`, as, { roles: ['guest'] }),
        (id: string, as: Credential) => send('POST', `/users/${id}/deactivate`, as),
        (id: string, as: Credential) => send('DELETE', `/users/${id}`, as),
      ];
      for (const [round, take] of second.entries()) {
        const tenant = `race${round}`;
        const admin = await keyFor(tenant);
        const a = await member(tenant, `a@${tenant}.example`, ['admin']);
        const b = await member(tenant, `b@${tenant}.example`, ['admin']);
        const replies = await Promise.all([
          send('PUT', `/users/${a.id}/roles`, admin, { roles: ['viewer'] }),
          take(b.id, admin),
        ]);
        const codes = replies.map((reply) => reply.body.code ?? reply.status);
        assert.equal(replies.filter((r) => r.status < 300).length, 1, JSON.stringify(codes));
        assert.ok(codes.includes('last_admin'), JSON.stringify(codes));
        assert.equal((await activeAdmins(app, tenant)).length, 1);
        // One change, audited once (a removal that erased also records the erasure).
        const changes = await audit(tenant, 'user.');
        assert.equal(changes.filter((e) => e.action !== 'user.erased').length, 1);
      }
    });

    it('lets only one of two admins demoting each other at once win', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member } = app;
      const x = await member('acme', 'x@example.com', ['admin']);
      const y = await member('acme', 'y@example.com', ['admin']);
      const replies = await Promise.all([
        send('PUT', `/users/${y.id}/roles`, x.token, { roles: ['viewer'] }),
        send('PUT', `/users/${x.id}/roles`, y.token, { roles: ['viewer'] }),
      ]);
      assert.equal(replies.filter((r) => r.status === 200).length, 1, JSON.stringify(replies));
      // The loser waited for the winner's lock (409), or was no admin any more by then (403).
      const loser = replies.find((r) => r.status !== 200);
      assert.ok(['last_admin', 'permission_denied'].includes(String(loser?.body.code)));
      assert.equal((await activeAdmins(app, 'acme')).length, 1);
    });
  });
}
