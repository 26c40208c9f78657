import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type Credential, tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { Engine } from '../../storage/database.ts';

const PASSWORD = 'member password';
const append = { events: [{ event_type: 'Noted', payload: {} }] };

/** Acme with an admin key and a custom role `reader` granting events:read only. */
async function withReader(t: TestContext, engine: Engine) {
  const test = await tenancyTestApp(t, engine);
  const admin = await test.keyFor('acme');
  const created = await test.send('POST', '/roles', admin, {
    name: 'reader',
    permissions: ['events:read'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const can = async (as: Credential) => ({
    read: (await test.send('GET', '/entities', as)).status,
    write: (await test.send('POST', '/entities/e/events', as, append)).status,
  });
  const setReader = async (permissions: string[]) => {
    const reply = await test.send('PATCH', '/roles/reader', admin, { permissions });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  };
  /**
   * A user of acme holding `roles`, given by `as`: invited, accepted by the user, and
   * given again (now as a member); returns the last PUT reply, or the refusal.
   */
  const member = async (email: string, roles: string[], as: Credential = admin) => {
    await test.userWith(email, PASSWORD);
    const invited = await test.send('PUT', '/tenants/acme/members', as, { email, roles });
    if (invited.status !== 202) return invited;
    const invitee = await test.login(email, PASSWORD, 'acme');
    const listed = await test.send('GET', '/auth/invitations', invitee);
    const [invitation] = listed.body.invitations as { id: string }[];
    const accepted = await test.send('POST', `/auth/invitations/${invitation?.id}/accept`, invitee);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    return test.send('PUT', '/tenants/acme/members', as, { email, roles });
  };
  return { ...test, admin, can, setReader, member };
}

for (const engine of testEngines()) {
  describe(`custom roles grant their permissions (${engine})`, () => {
    it('gives a member exactly what the role grants, and changes it at once', async (t) => {
      const { send, admin, can, setReader, member, login } = await withReader(t, engine);
      const put = await member('rita@example.com', ['viewer', 'reader', 'reader']);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body.roles, ['viewer', 'reader']);
      await send('PUT', '/tenants/acme/members', admin, {
        email: 'rita@example.com',
        roles: ['reader'],
      });
      const token = await login('rita@example.com', PASSWORD, 'acme');
      const me = await send('GET', '/auth/me', token);
      assert.deepEqual([me.body.roles, me.body.permissions], [['reader'], ['events:read']]);
      assert.deepEqual(await can(token), { read: 200, write: 403 });

      await setReader(['events:read', 'events:write']);
      assert.deepEqual(await can(token), { read: 200, write: 201 });
      await setReader([]);
      assert.deepEqual(await can(token), { read: 403, write: 403 });

      const listed = await send('GET', '/tenants/acme/members', admin);
      assert.deepEqual((listed.body.members as { roles: string[] }[])[0]?.roles, ['reader']);
    });

    it('gives an API key exactly what its custom role grants, and changes it at once', async (t) => {
      const { send, admin, can, setReader } = await withReader(t, engine);
      const created = await send('POST', '/auth/api-keys', admin, { name: 'ci', role: 'reader' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.role, 'reader');
      const key = { key: created.body.key as string };
      assert.deepEqual(await can(key), { read: 200, write: 403 });

      await setReader(['events:read', 'events:write']);
      assert.deepEqual(await can(key), { read: 200, write: 201 });
      await setReader(['metrics:read']);
      assert.deepEqual(await can(key), { read: 403, write: 403 });
    });

    it('refuses to delete a role members or live keys hold', async (t) => {
      const { send, admin, member } = await withReader(t, engine);
      await member('rita@example.com', ['reader']);
      const key = await send('POST', '/auth/api-keys', admin, { name: 'ci', role: 'reader' });
      const held = await send('DELETE', '/roles/reader', admin);
      assert.equal(held.status, 409);
      assert.equal(held.body.code, 'role_in_use');
      assert.deepEqual([held.body.members, held.body.api_keys], [1, 1]);

      await send('PUT', '/tenants/acme/members', admin, {
        email: 'rita@example.com',
        roles: ['viewer'],
      });
      const keyHeld = await send('DELETE', '/roles/reader', admin);
      assert.deepEqual(
        [keyHeld.body.code, keyHeld.body.members, keyHeld.body.api_keys],
        ['role_in_use', 0, 1],
      );
      assert.equal((await send('DELETE', `/auth/api-keys/${key.body.id}`, admin)).status, 204);
      assert.equal((await send('DELETE', '/roles/reader', admin)).status, 204);
      const audit = await send('GET', '/audit?target=role:reader', admin);
      assert.deepEqual(
        (audit.body.events as { payload: { action: string } }[]).map((e) => e.payload.action),
        ['role.deleted', 'role.created'],
        'the refused deletes left no event',
      );
    });

    it('lets nobody define or hand out more than they hold', async (t) => {
      const { send, admin, keyFor, member } = await withReader(t, engine);
      await send('POST', '/roles', admin, {
        name: 'keeper',
        permissions: ['events:read', 'roles:manage', 'members:manage', 'api_keys:manage'],
      });
      await send('POST', '/roles', admin, { name: 'writer', permissions: ['events:write'] });
      const keeper = await keyFor('acme', 'keeper');

      const beyond = await send('POST', '/roles', keeper, {
        name: 'mine',
        permissions: ['events:read', 'events:write', 'audit:read'],
      });
      assert.equal(beyond.status, 403);
      assert.equal(beyond.body.code, 'permission_not_delegable');
      assert.deepEqual(beyond.body.permissions, ['events:write', 'audit:read']);
      const grow = await send('PATCH', '/roles/reader', keeper, { permissions: ['tenant:read'] });
      assert.equal(grow.body.code, 'permission_not_delegable');
      // A role granting more than the caller holds is out of reach, even to shrink it.
      for (const [method, body] of [
        ['PATCH', { permissions: [] }],
        ['DELETE', undefined],
      ] as const) {
        const reply = await send(method, '/roles/writer', keeper, body);
        assert.equal(reply.status, 403, method);
        assert.equal(reply.body.code, 'role_not_delegable');
      }
      for (const roles of [['writer'], ['reader', 'writer'], ['admin']]) {
        const reply = await member(`m${roles.length}${roles[0]}@example.com`, roles, keeper);
        assert.equal(reply.status, 403, roles.join());
        assert.equal(reply.body.code, 'role_not_delegable');
      }
      const key = await send('POST', '/auth/api-keys', keeper, { name: 'k', role: 'writer' });
      assert.equal(key.body.code, 'role_not_delegable');

      // Within what the keeper holds, all of it works.
      assert.equal((await member('ok@example.com', ['reader'], keeper)).status, 200);
      assert.equal(
        (await send('POST', '/auth/api-keys', keeper, { name: 'k', role: 'reader' })).status,
        201,
      );
      const mine = await send('POST', '/roles', keeper, {
        name: 'mine',
        permissions: ['events:read', 'members:manage'],
      });
      assert.equal(mine.status, 201);
      const roles = await send('GET', '/roles', admin);
      const writer = (roles.body.roles as { name: string; permissions: string[] }[]).find(
        (r) => r.name === 'writer',
      );
      assert.deepEqual(writer?.permissions, ['events:write'], 'unchanged');
    });

    it('grants nothing for a role name the tenant does not define', async (t) => {
      const { send, admin, db, userWith, login, platform } = await withReader(t, engine);
      const userId = await userWith('gus@example.com', PASSWORD);
      await send('PUT', '/tenants/acme/members', platform, {
        email: 'gus@example.com',
        roles: ['viewer'],
      });
      // What a stored role array may still name: a role gone, or never there.
      await db.kysely
        .updateTable('memberships')
        .set({ roles: '["ghost"]' })
        .where('user_id', '=', userId)
        .execute();
      const token = await login('gus@example.com', PASSWORD, 'acme');
      const me = await send('GET', '/auth/me', token);
      assert.deepEqual([me.body.roles, me.body.permissions], [['ghost'], []]);
      assert.equal((await send('GET', '/entities', token)).status, 403);
      const members = await send('GET', '/tenants/acme/members', admin);
      assert.deepEqual((members.body.members as { roles: string[] }[])[0]?.roles, ['ghost']);
      // Defining it later gives its holders its permissions at once.
      await send('POST', '/roles', admin, { name: 'ghost', permissions: ['events:read'] });
      assert.equal((await send('GET', '/entities', token)).status, 200);
    });
  });
}
