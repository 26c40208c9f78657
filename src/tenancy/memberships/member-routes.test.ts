import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const viewer = { email: 'vic@example.com', roles: ['viewer'] };

for (const engine of testEngines()) {
  describe(`tenant member routes (${engine})`, () => {
    it('lets a tenant admin invite, list and remove a viewer, whose roles apply at once', async (t) => {
      const { send, keyFor, userWith, accept } = await usersTestApp(t, engine);
      const admin = await keyFor('acme');
      const userId = await userWith('vic@example.com', 'viewer password');
      const put = await send('PUT', '/tenants/acme/members', admin, viewer);
      assert.equal(put.status, 202);
      assert.deepEqual(
        { ...put.body, expires_at: typeof put.body.expires_at },
        { status: 'invited', email: 'vic@example.com', roles: ['viewer'], expires_at: 'string' },
      );
      // An email that belongs to nobody gets the same answer.
      const nobody = await send('PUT', '/tenants/acme/members', admin, {
        ...viewer,
        email: 'nobody@example.com',
      });
      assert.equal(nobody.status, 202);
      assert.deepEqual(Object.keys(nobody.body).sort(), Object.keys(put.body).sort());
      assert.deepEqual((await send('GET', '/tenants/acme/members', admin)).body.members, []);
      const token = await accept('vic@example.com', 'acme', 'viewer password');
      const member = await send('PUT', '/tenants/acme/members', admin, viewer);
      assert.equal(member.status, 200);
      assert.deepEqual(member.body, {
        user_id: userId,
        email: 'vic@example.com',
        name: null,
        roles: ['viewer'],
      });

      const listed = await send('GET', '/tenants/acme/members', admin);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        (listed.body.members as { user_id: string; roles: string[] }[]).map((m) => [
          m.user_id,
          m.roles,
        ]),
        [[userId, ['viewer']]],
      );
      // The identity beside the membership: identity's, read for the page.
      const [listedMember] = listed.body.members as { email: string; name: string | null }[];
      assert.equal(listedMember?.email, 'vic@example.com');
      assert.equal(listedMember?.name, null);
      assert.equal(listed.body.next_cursor, null);

      assert.equal((await send('GET', '/stats', token)).status, 200);
      const write = await send('POST', '/entities/e/events', token, {
        events: [{ event_type: 'A', payload: 1 }],
      });
      assert.equal(write.status, 403);

      assert.equal((await send('DELETE', `/tenants/acme/members/${userId}`, admin)).status, 204);
      // Removal ends the member's sessions there at once, as DELETE /users/{id} does.
      const after = await send('GET', '/stats', token);
      assert.equal(after.status, 401);
      assert.equal(after.body.code, 'session_revoked');
      const again = await send('DELETE', `/tenants/acme/members/${userId}`, admin);
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'membership_not_found');
    });

    it('keeps the last active admin, and audits every membership change', async (t) => {
      const { send, keyFor, userWith, platform } = await tenancyTestApp(t, engine);
      await keyFor('acme');
      const bossId = await userWith('boss@example.com', 'boss password');
      const boss = { email: 'boss@example.com', roles: ['admin'] };
      assert.equal((await send('PUT', '/tenants/acme/members', platform, boss)).status, 200);
      const demote = await send('PUT', '/tenants/acme/members', platform, {
        ...boss,
        roles: ['viewer'],
      });
      assert.equal(demote.status, 409);
      assert.equal(demote.body.code, 'last_admin');
      const removed = await send('DELETE', `/tenants/acme/members/${bossId}`, platform);
      assert.equal(removed.status, 409);
      assert.equal(removed.body.code, 'last_admin');

      const vicId = await userWith('vic@example.com', 'viewer password');
      assert.equal((await send('PUT', '/tenants/acme/members', platform, viewer)).status, 200);
      const promoted = await send('PUT', '/tenants/acme/members', platform, {
        ...viewer,
        roles: ['admin'],
      });
      assert.equal(promoted.status, 200);
      assert.equal(
        (await send('PUT', '/tenants/acme/members', platform, { ...boss, roles: ['viewer'] }))
          .status,
        200,
      );
      assert.equal((await send('DELETE', `/tenants/acme/members/${bossId}`, platform)).status, 204);

      const trail = await send(
        'GET',
        `/audit?order=asc&target=user:${vicId}`,
        await keyFor('acme', 'auditor'),
      );
      const actions = (
        trail.body.events as { payload: { action: string; details: unknown } }[]
      ).map((event) => [event.payload.action, event.payload.details]);
      assert.deepEqual(actions, [
        ['user.added', { email: 'vic@example.com', roles: ['viewer'] }],
        ['user.roles_changed', { from: ['viewer'], to: ['admin'] }],
      ]);
      const bossTrail = await send(
        'GET',
        `/audit?order=asc&target=user:${bossId}`,
        await keyFor('acme', 'auditor'),
      );
      assert.deepEqual(
        (bossTrail.body.events as { payload: { action: string } }[]).map((e) => e.payload.action),
        ['user.added', 'user.roles_changed', 'user.removed'],
      );
    });

    it('keeps a tenant admin out of every other tenant', async (t) => {
      const { send, keyFor, userWith, platform } = await tenancyTestApp(t, engine);
      const acmeAdmin = await keyFor('acme');
      const betaAdmin = await keyFor('beta');
      const userId = await userWith('vic@example.com', 'viewer password');
      await send('PUT', '/tenants/beta/members', platform, viewer);
      for (const tenant of ['beta', 'system', 'missing']) {
        for (const [method, url, body] of [
          ['GET', `/tenants/${tenant}/members`, undefined],
          ['PUT', `/tenants/${tenant}/members`, { ...viewer, roles: ['admin'] }],
          ['DELETE', `/tenants/${tenant}/members/${userId}`, undefined],
        ] as const) {
          const reply = await send(method, url, acmeAdmin, body);
          assert.equal(reply.status, 403, `${method} ${url}`);
          assert.equal(reply.body.code, 'permission_denied');
        }
      }
      const members = await send('GET', '/tenants/beta/members', betaAdmin);
      assert.deepEqual(
        (members.body.members as { roles: string[] }[]).map((m) => m.roles),
        [['viewer']],
      );
    });

    it('refuses members:manage to a developer', async (t) => {
      const { send, keyFor, userWith } = await tenancyTestApp(t, engine);
      const developer = await keyFor('acme', 'developer');
      const userId = await userWith('vic@example.com', 'viewer password');
      for (const [method, url, body] of [
        ['GET', '/tenants/acme/members', undefined],
        ['PUT', '/tenants/acme/members', viewer],
        ['DELETE', `/tenants/acme/members/${userId}`, undefined],
      ] as const) {
        const reply = await send(method, url, developer, body);
        assert.equal(reply.status, 403, `${method} ${url}`);
        assert.equal(reply.body.code, 'permission_denied');
      }
    });

    it('lets a platform administrator manage any tenant’s members', async (t) => {
      const { send, platform, keyFor, userWith } = await tenancyTestApp(t, engine);
      await keyFor('acme');
      await userWith('vic@example.com', 'viewer password');
      const put = await send('PUT', '/tenants/acme/members', platform, {
        email: ' VIC@example.com ',
        roles: ['viewer', 'auditor', 'viewer'],
      });
      assert.equal(put.status, 200);
      assert.deepEqual(put.body.roles, ['auditor', 'viewer']);
      const nobody = await send('PUT', '/tenants/acme/members', platform, {
        email: 'nobody@example.com',
        roles: ['viewer'],
      });
      assert.equal(nobody.status, 404);
      assert.equal(nobody.body.code, 'user_not_found');
      const missing = await send('PUT', '/tenants/missing/members', platform, viewer);
      assert.equal(missing.body.code, 'tenant_not_found');
      assert.equal((await send('GET', '/tenants/missing/members', platform)).status, 404);
    });

    it('rejects bad input and missing credentials', async (t) => {
      const { send, keyFor, userWith } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      await userWith('vic@example.com', 'viewer password');
      for (const body of [
        { ...viewer, roles: ['root'] },
        { ...viewer, roles: [] },
        { ...viewer, extra: true },
        { roles: ['viewer'] },
      ]) {
        const reply = await send('PUT', '/tenants/acme/members', admin, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
      }
      assert.equal((await send('PUT', '/tenants/Bad_ID/members', admin, viewer)).status, 400);
      assert.equal((await send('GET', '/tenants/acme/members?limit=0', admin)).status, 400);
      // Rejected requests changed nothing: API keys are not members.
      assert.deepEqual((await send('GET', '/tenants/acme/members', admin)).body.members, []);
      for (const [method, url, body] of [
        ['GET', '/tenants/acme/members', undefined],
        ['PUT', '/tenants/acme/members', viewer],
        ['DELETE', '/tenants/acme/members/x', undefined],
      ] as const) {
        assert.equal((await send(method, url, null, body)).status, 401, `${method} ${url}`);
      }
    });
  });
}
