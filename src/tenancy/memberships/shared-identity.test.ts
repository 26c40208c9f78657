import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PASSWORD, usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;
const LOCKOUT = { lockout: { max_failures: 2, ip_delay_ms: 1, ip_max_delay_ms: 1 } };

/**
 * Issue 15, items 1 and 2: a hostile tenant's admin (beta's Bea) against identities
 * that are not hers alone: acme's admin Alice and the platform administrator Root.
 */
for (const engine of testEngines()) {
  describe(`identities shared by several tenants (${engine})`, () => {
    it('invites instead of enlisting, answering alike for known and unknown emails', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor } = app;
      await member('acme', 'alice@example.com', ['admin']);
      await member('system', 'root@example.com', ['admin']);
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const bodies: Json[] = [];
      for (const email of ['alice@example.com', 'root@example.com', 'ghost@example.com']) {
        const put = await send('PUT', '/tenants/beta/members', bea.token, {
          email,
          roles: ['admin'],
        });
        const post = await send('POST', '/users', bea.token, {
          email: email.toUpperCase(),
          name: 'Mallory',
          roles: ['viewer'],
          password: 'chosen by bea to sign in',
        });
        for (const reply of [put, post]) {
          assert.equal(reply.status, 202, `${email}: ${JSON.stringify(reply.body)}`);
          bodies.push({ ...reply.body, email: '', expires_at: '', roles: [] });
        }
      }
      for (const body of bodies) assert.deepEqual(body, bodies[0]);
      // Nobody joined; nobody's password or name changed.
      const members = await send('GET', '/tenants/beta/members', bea.token);
      assert.deepEqual(
        (members.body.members as Json[]).map((m) => [m.email, m.name]),
        [['bea@example.com', null]],
      );
      for (const email of ['alice@example.com', 'root@example.com']) {
        const forged = await send('POST', '/auth/login', null, {
          email,
          password: 'chosen by bea to sign in',
        });
        assert.equal(forged.status, 401);
      }

      // The platform administrator's login without tenant_id keeps working, before
      // and after accepting: the system tenant is their home.
      const rootLogin = { email: 'root@example.com', password: PASSWORD };
      const before = await send('POST', '/auth/login', null, rootLogin);
      assert.equal(before.body.tenant_id, 'system');
      const root = { token: String(before.body.access_token) };
      const invitations = (await send('GET', '/auth/invitations', root)).body.invitations as Json[];
      assert.deepEqual(
        invitations.map((i) => [i.tenant_id, i.tenant_name, i.roles]),
        [['beta', 'beta', ['viewer']]],
        'the newer invitation replaced the first',
      );
      const id = String(invitations[0]?.id);
      // Nobody else answers it: not Bea, not an API key.
      const stolen = await send('POST', `/auth/invitations/${id}/accept`, bea.token);
      assert.equal(stolen.status, 404);
      assert.equal(stolen.body.code, 'invitation_not_found');
      const byKey = await send('POST', `/auth/invitations/${id}/accept`, await keyFor('beta'));
      assert.equal(byKey.status, 400);
      // Without credentials, or with an id no invitation can have: refused, nothing used.
      const anonymous = await send('POST', `/auth/invitations/${id}/decline`, null);
      assert.equal(anonymous.status, 401);
      const malformed = await send('POST', `/auth/invitations/${'x'.repeat(65)}/accept`, root);
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.code, 'validation_failed');
      const accepted = await send('POST', `/auth/invitations/${id}/accept`, root);
      assert.deepEqual(accepted.body, { tenant_id: 'beta', roles: ['viewer'] });
      const twice = await send('POST', `/auth/invitations/${id}/accept`, root);
      assert.equal(twice.body.code, 'invitation_not_found', 'single use');
      const after = await send('POST', '/auth/login', null, rootLogin);
      assert.equal(after.status, 200, JSON.stringify(after.body));
      assert.equal(after.body.tenant_id, 'system');
      const inBeta = await send('POST', '/auth/login', null, { ...rootLogin, tenant_id: 'beta' });
      assert.equal(inBeta.body.tenant_id, 'beta');

      // Alice declines; the invitation is gone, and acme's login is hers as before.
      const alice = await app.login('alice@example.com', PASSWORD, 'acme');
      const [mine] = (await send('GET', '/auth/invitations', alice)).body.invitations as Json[];
      assert.equal(
        (await send('POST', `/auth/invitations/${mine?.id}/decline`, alice)).status,
        204,
      );
      assert.equal(
        (await send('POST', `/auth/invitations/${mine?.id}/accept`, alice)).body.code,
        'invitation_not_found',
      );
      assert.deepEqual((await send('GET', '/auth/invitations', alice)).body.invitations, []);
      const aliceLogin = await send('POST', '/auth/login', null, {
        email: 'alice@example.com',
        password: PASSWORD,
      });
      assert.equal(aliceLogin.body.tenant_id, 'acme');
      const trail = await app.audit('beta', 'invitation.');
      assert.deepEqual(
        trail.map((e) => [e.action, e.actor_type]),
        [
          ['invitation.accepted', 'user'],
          ['invitation.declined', 'user'],
        ],
      );
    });

    it('keeps a tenant admin’s power over a shared identity at its membership', async (t) => {
      const app = await usersTestApp(t, engine, LOCKOUT);
      const { send, member, keyFor, platform, services } = app;
      const alice = await member('acme', 'alice@example.com', ['admin']);
      const ann = await member('acme', 'ann@example.com', ['viewer']);
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const acmeAdmin = await keyFor('acme');
      const invited = await send('PUT', '/tenants/beta/members', bea.token, {
        email: 'alice@example.com',
        roles: ['viewer'],
      });
      assert.equal(invited.status, 202);
      await app.accept('alice@example.com', 'beta');

      // Her name is hers: neither tenant renames her now; a sole-tenant member still is.
      for (const as of [bea.token, acmeAdmin]) {
        const rename = await send('PATCH', `/users/${alice.id}`, as, { name: 'Mallory' });
        assert.equal(rename.status, 403);
        assert.equal(rename.body.code, 'identity_shared');
      }
      assert.equal((await services.identity.users.findById(alice.id))?.name, null);
      assert.equal(
        (await send('PATCH', `/users/${ann.id}`, acmeAdmin, { name: 'Ann' })).status,
        200,
      );

      // Her lock is hers: Bea cannot lift it, a platform administrator can.
      for (let i = 0; i < 2; i++) {
        await send('POST', '/auth/login', null, {
          email: 'alice@example.com',
          password: 'wrong password!',
          tenant_id: 'acme',
        });
      }
      const unlock = await send('DELETE', `/lockouts/users/${alice.id}`, bea.token);
      assert.equal(unlock.status, 403);
      assert.equal(unlock.body.code, 'identity_shared');
      const stillLocked = await send('POST', '/auth/login', null, {
        email: 'alice@example.com',
        password: PASSWORD,
        tenant_id: 'acme',
      });
      assert.equal(stillLocked.status, 401);
      assert.equal((await send('DELETE', `/lockouts/users/${alice.id}`, platform)).status, 204);

      // Her membership in beta is Bea's to end, and only that.
      assert.equal((await send('DELETE', `/users/${alice.id}`, bea.token)).status, 204);
      assert.equal((await services.identity.users.findById(alice.id))?.email, 'alice@example.com');
      await app.login('alice@example.com', PASSWORD, 'acme');
      // Alone in acme again: acme's admins have her whole identity back.
      assert.equal(
        (await send('PATCH', `/users/${alice.id}`, acmeAdmin, { name: 'Alice' })).status,
        200,
      );
    });

    it('lets exactly one of concurrent answers use an invitation', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member } = app;
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const vic = await member('acme', 'vic@example.com', ['viewer']);
      await send('PUT', '/tenants/beta/members', bea.token, {
        email: 'vic@example.com',
        roles: ['viewer'],
      });
      const [invitation] = (await send('GET', '/auth/invitations', vic.token)).body
        .invitations as Json[];
      const url = `/auth/invitations/${invitation?.id}`;
      const answers = await Promise.all([
        send('POST', `${url}/accept`, vic.token),
        send('POST', `${url}/accept`, vic.token),
        send('POST', `${url}/decline`, vic.token),
      ]);
      const statuses = answers.map((answer) => answer.status).sort();
      assert.equal(statuses.filter((status) => status < 300).length, 1, JSON.stringify(answers));
      assert.equal(statuses.filter((status) => status === 404).length, 2);
      const trail = await app.audit('beta', 'invitation.');
      assert.equal(trail.length, 1);
    });

    it('answers alike when two tenants invite the same new email at once', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, keyFor } = app;
      const admins = [await keyFor('acme'), await keyFor('beta')];
      const emails = ['new1@example.com', 'new2@example.com', 'new3@example.com'];
      const replies = await Promise.all(
        emails.flatMap((email) =>
          admins.map((admin) =>
            send('PUT', `/tenants/${admin === admins[0] ? 'acme' : 'beta'}/members`, admin, {
              email,
              roles: ['viewer'],
            }),
          ),
        ),
      );
      assert.deepEqual(
        replies.map((reply) => reply.status),
        replies.map(() => 202),
        JSON.stringify(replies.map((reply) => reply.body)),
      );
      for (const email of emails) {
        const user = await app.services.identity.users.findByEmail(email);
        assert.ok(user, email);
        const rows = await app.db.kysely
          .selectFrom('invitations')
          .select('tenant_id')
          .where('user_id', '=', user.id)
          .orderBy('tenant_id')
          .execute();
        assert.deepEqual(
          rows.map((row) => row.tenant_id),
          ['acme', 'beta'],
        );
      }
    });

    it('never lets a tenant admin erase an identity that belongs to no tenant', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, services } = app;
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const loneId = await app.userWith('lone@example.com', PASSWORD);
      const invited = await send('POST', '/users', bea.token, {
        email: 'lone@example.com',
        name: 'L',
        roles: ['viewer'],
      });
      assert.equal(invited.status, 202);
      const erase = await send('DELETE', `/users/${loneId}`, bea.token);
      assert.equal(erase.status, 404);
      assert.equal(erase.body.code, 'user_not_found');
      assert.equal((await services.identity.users.findById(loneId))?.email, 'lone@example.com');
      // With no membership, they sign in to the inviting tenant, with no role, to answer.
      const login = await send('POST', '/auth/login', null, {
        email: 'lone@example.com',
        password: PASSWORD,
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assert.equal(login.body.tenant_id, 'beta');
      const token = { token: String(login.body.access_token) };
      const me = await send('GET', '/auth/me', token);
      assert.deepEqual([me.body.roles, me.body.permissions], [[], []]);
      assert.equal((await send('GET', '/entities', token)).status, 403);
      const [invitation] = (await send('GET', '/auth/invitations', token)).body
        .invitations as Json[];
      await send('POST', `/auth/invitations/${invitation?.id}/accept`, token);
      // The same session holds the roles at once.
      assert.equal((await send('GET', '/entities', token)).status, 200);
    });
  });
}
