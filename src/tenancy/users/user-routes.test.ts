import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PASSWORD, usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;
const ids = (body: Json) => (body.users as Json[]).map((user) => user.email);

for (const engine of testEngines()) {
  describe(`user routes (${engine})`, () => {
    it('invites by email, the same answer for a new and an existing identity; the user joins by accepting', async (t) => {
      const { send, member, login, accept, audit } = await usersTestApp(t, engine);
      const ada = await member('acme', 'ada@example.com', ['admin']);
      const created = await send('POST', '/users', ada.token, {
        email: ' Bob@Example.com ',
        name: 'Bob',
        roles: ['viewer', 'developer', 'viewer'],
        password: PASSWORD,
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.deepEqual(Object.keys(created.body).sort(), [
        'email',
        'expires_at',
        'roles',
        'status',
      ]);
      assert.equal(created.body.status, 'invited');
      assert.equal(created.body.email, 'bob@example.com');
      assert.deepEqual(created.body.roles, ['developer', 'viewer']);
      // Not a member until Bob says so.
      assert.deepEqual((await send('GET', '/users?q=bob', ada.token)).body.users, []);
      const inAcme = await accept('bob@example.com', 'acme');
      const me = await send('GET', '/auth/me', inAcme);
      assert.deepEqual(me.body.roles, ['developer', 'viewer']);
      const bob = (await send('GET', '/users?q=bob', ada.token)).body.users as Json[];
      assert.equal(bob[0]?.name, 'Bob');
      const bobId = String(bob[0]?.id);

      const again = await send('POST', '/users', ada.token, {
        email: 'bob@example.com',
        name: 'Bob',
        roles: ['viewer'],
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'member_exists');

      // An identity that exists elsewhere: the same answer as for a new email, and its
      // name and password stay its owner's.
      const beta = await member('beta', 'bea@example.com', ['admin']);
      const known = await send('POST', '/users', beta.token, {
        email: 'bob@example.com',
        name: 'Robert',
        roles: ['auditor'],
        password: 'not bob’s password at all',
      });
      const unknown = await send('POST', '/users', beta.token, {
        email: 'nobody@example.com',
        name: 'Robert',
        roles: ['auditor'],
        password: 'not bob’s password at all',
      });
      assert.equal(known.status, 202);
      assert.equal(unknown.status, 202);
      const shape = (body: Json) => ({ ...body, email: '', expires_at: '' });
      assert.deepEqual(shape(known.body), shape(unknown.body));
      await assert.rejects(login('bob@example.com', 'not bob’s password at all', 'beta'));
      await accept('bob@example.com', 'beta');
      assert.equal(
        ((await send('GET', `/users/${bobId}`, beta.token)).body as Json).name,
        'Bob',
        'an existing identity is left as it is',
      );

      const acmeEvents = await audit('acme', 'user.');
      assert.deepEqual(
        acmeEvents.map((e) => [e.action, e.actor, e.target]),
        [['user.invited', ada.id, `user:${bobId}`]],
      );
      assert.deepEqual(acmeEvents[0]?.details.roles, ['developer', 'viewer']);
      const accepted = await audit('acme', 'invitation.');
      assert.deepEqual(
        accepted.map((e) => [e.action, e.actor, e.target, e.outcome]),
        [['invitation.accepted', bobId, `user:${bobId}`, 'success']],
      );
      // The tenant's trail says the same for both emails: an invitation each.
      const betaEvents = await audit('beta', 'user.');
      assert.deepEqual(
        betaEvents.map((e) => [e.action, e.actor, e.details.email]),
        [
          ['user.invited', beta.id, 'bob@example.com'],
          ['user.invited', beta.id, 'nobody@example.com'],
        ],
      );
      assert.equal(JSON.stringify(await audit('acme', '')).includes(PASSWORD), false);
    });

    it('shows, renames and re-roles a user, auditing each change', async (t) => {
      const { send, member, audit } = await usersTestApp(t, engine);
      const ada = await member('acme', 'ada@example.com', ['admin']);
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      const shown = await send('GET', `/users/${vic.id}`, ada.token);
      assert.equal(shown.status, 200);
      assert.deepEqual(
        { ...shown.body, created_at: 0, joined_at: 0 },
        {
          id: vic.id,
          email: 'vic@example.com',
          name: null,
          roles: ['viewer'],
          status: 'active',
          email_verified: false,
          created_at: 0,
          joined_at: 0,
        },
      );
      const renamed = await send('PATCH', `/users/${vic.id}`, ada.token, { name: ' Victor ' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Victor');
      const roles = await send('PUT', `/users/${vic.id}/roles`, ada.token, {
        roles: ['operator'],
      });
      assert.equal(roles.status, 200);
      assert.deepEqual(roles.body.roles, ['operator']);
      // Roles apply to the user's live session at once.
      const write = await send('POST', '/entities/e/events', vic.token, {
        events: [{ event_type: 'A', payload: 1 }],
      });
      assert.equal(write.status, 201, JSON.stringify(write.body));

      const events = await audit('acme', 'user.');
      assert.deepEqual(
        events.map((e) => [e.action, e.actor, e.target, e.outcome, e.details]),
        [
          ['user.updated', ada.id, `user:${vic.id}`, 'success', { name: 'Victor' }],
          [
            'user.roles_changed',
            ada.id,
            `user:${vic.id}`,
            'success',
            { from: ['viewer'], to: ['operator'] },
          ],
        ],
      );
    });

    it('filters by status, role, team and text, page by page', async (t) => {
      const { send, member, keyFor, db } = await usersTestApp(t, engine);
      const admin = await keyFor('acme');
      const ada = await member('acme', 'ada@example.com', ['admin']);
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      await send('PATCH', `/users/${vic.id}`, admin, { name: 'Victoria Smith' });
      const dev = await member('acme', 'dev@example.com', ['developer', 'viewer']);
      await member('beta', 'other@example.com', ['viewer']);
      await send('POST', `/users/${dev.id}/deactivate`, admin);
      const at = Date.now();
      await db.kysely
        .insertInto('teams')
        .values({ tenant_id: 'acme', id: 't1', name: 'Core', created_ms: at, updated_ms: at })
        .execute();
      await db.kysely
        .insertInto('team_members')
        .values({ tenant_id: 'acme', team_id: 't1', user_id: ada.id, created_ms: at })
        .execute();

      const list = async (query: string) => {
        const reply = await send('GET', `/users${query}`, admin);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body;
      };
      assert.deepEqual(ids(await list('')).sort(), [
        'ada@example.com',
        'dev@example.com',
        'vic@example.com',
      ]);
      assert.deepEqual(ids(await list('?status=deactivated')), ['dev@example.com']);
      assert.deepEqual(ids(await list('?role=viewer&status=active')), ['vic@example.com']);
      assert.deepEqual(ids(await list('?team=t1')), ['ada@example.com']);
      assert.deepEqual(ids(await list('?q=SMITH')), ['vic@example.com']);
      assert.deepEqual(ids(await list('?q=%25')), [], 'a LIKE wildcard matches itself');
      assert.deepEqual(ids(await list('?q=dev%40')), ['dev@example.com']);

      const seen: unknown[] = [];
      let cursor: unknown = '';
      for (let page = 0; page < 4 && cursor !== null; page++) {
        const body = await list(`?limit=2${cursor ? `&after=${cursor}` : ''}`);
        seen.push(...ids(body));
        cursor = body.next_cursor;
      }
      assert.equal(cursor, null);
      assert.equal(new Set(seen).size, 3);
    });

    it('rejects bad input with a problem document and changes nothing', async (t) => {
      const { send, member, keyFor } = await usersTestApp(t, engine);
      const admin = await keyFor('acme');
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      const body = { email: 'new@example.com', name: 'New', roles: ['viewer'] };
      for (const [bad, code] of [
        [{ ...body, extra: 1 }, 'validation_failed'],
        [{ email: 'new@example.com', roles: ['viewer'] }, 'validation_failed'],
        [{ ...body, roles: [] }, 'validation_failed'],
        [{ ...body, roles: ['root'] }, 'invalid_roles'],
        [{ ...body, email: 'not an email' }, 'invalid_email'],
        [{ ...body, password: 'short' }, 'weak_password'],
      ] as const) {
        const reply = await send('POST', '/users', admin, bad);
        assert.equal(reply.status, 400, JSON.stringify(bad));
        assert.equal(reply.body.code, code, JSON.stringify(reply.body));
      }
      for (const [method, url, payload] of [
        ['GET', '/users?limit=0', undefined],
        ['GET', '/users?status=gone', undefined],
        ['GET', '/users?unknown=1', undefined],
        ['PATCH', `/users/${vic.id}`, {}],
        ['PATCH', `/users/${vic.id}`, { name: '' }],
        ['PATCH', `/users/${vic.id}`, { name: 'x', email: 'y@example.com' }],
        ['PUT', `/users/${vic.id}/roles`, { roles: [] }],
        ['PUT', `/users/${vic.id}/roles`, { roles: ['root'] }],
      ] as const) {
        const reply = await send(method, url, admin, payload);
        assert.equal(reply.status, 400, `${method} ${url}`);
        assert.equal(typeof reply.body.code, 'string');
      }
      const after = await send('GET', '/users', admin);
      assert.deepEqual(ids(after.body), ['vic@example.com']);
      assert.deepEqual((after.body.users as Json[])[0]?.roles, ['viewer']);
      assert.equal((after.body.users as Json[])[0]?.name, null);
    });

    it('needs credentials and users:read or users:manage on every route', async (t) => {
      const { send, member, keyFor } = await usersTestApp(t, engine);
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      const developer = await keyFor('acme', 'developer');
      const routes = [
        ['POST', '/users', { email: 'n@example.com', name: 'N', roles: ['viewer'] }],
        ['GET', '/users', undefined],
        ['GET', `/users/${vic.id}`, undefined],
        ['PATCH', `/users/${vic.id}`, { name: 'V' }],
        ['POST', `/users/${vic.id}/deactivate`, undefined],
        ['POST', `/users/${vic.id}/activate`, undefined],
        ['PUT', `/users/${vic.id}/roles`, { roles: ['viewer'] }],
        ['DELETE', `/users/${vic.id}`, undefined],
      ] as const;
      for (const [method, url, payload] of routes) {
        const anonymous = await send(method, url, null, payload);
        assert.equal(anonymous.status, 401, `${method} ${url}`);
        for (const caller of [vic.token, developer]) {
          const denied = await send(method, url, caller, payload);
          assert.equal(denied.status, 403, `${method} ${url}`);
          assert.equal(denied.body.code, 'permission_denied');
        }
      }
      const admin = await keyFor('acme');
      assert.equal((await send('GET', `/users/${vic.id}`, admin)).body.status, 'active');
    });

    it('answers 404 for a user of another tenant on every route, and changes nothing there', async (t) => {
      const { send, member, keyFor, platform } = await usersTestApp(t, engine);
      const acmeAdmin = await keyFor('acme');
      const bea = await member('beta', 'bea@example.com', ['admin']);
      for (const caller of [acmeAdmin, platform]) {
        for (const [method, url, payload] of [
          ['GET', `/users/${bea.id}`, undefined],
          ['PATCH', `/users/${bea.id}`, { name: 'Taken' }],
          ['POST', `/users/${bea.id}/deactivate`, undefined],
          ['POST', `/users/${bea.id}/activate`, undefined],
          ['PUT', `/users/${bea.id}/roles`, { roles: ['viewer'] }],
          ['DELETE', `/users/${bea.id}`, undefined],
          ['GET', '/users/no-such-user', undefined],
        ] as const) {
          const reply = await send(method, url, caller, payload);
          assert.equal(reply.status, 404, `${method} ${url}`);
          assert.equal(reply.body.code, 'user_not_found');
        }
        const list = await send('GET', '/users?q=bea', caller);
        assert.deepEqual(list.body.users, []);
      }
      const unchanged = await send('GET', `/users/${bea.id}`, await keyFor('beta'));
      assert.equal(unchanged.body.name, null);
      assert.deepEqual(unchanged.body.roles, ['admin']);
      assert.equal((await send('GET', '/auth/me', bea.token)).status, 200);
    });
  });
}
