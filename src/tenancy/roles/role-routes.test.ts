import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Credential,
  type TenancyTestApp,
  tenancyTestApp,
} from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { PERMISSIONS } from '../../access/permissions.ts';
import { ROLES } from '../../access/roles.ts';

const reader = { name: 'reader', description: 'Reads events', permissions: ['events:read'] };

type Role = { name: string; permissions: string[]; built_in: boolean; description: unknown };

async function rolesOf(send: TenancyTestApp['send'], as: Credential): Promise<Role[]> {
  const reply = await send('GET', '/roles', as);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.roles as Role[];
}

const customOf = async (send: TenancyTestApp['send'], as: Credential) =>
  (await rolesOf(send, as)).filter((role) => !role.built_in);

/** The tenant's audit payloads about one role, oldest first. */
async function auditOf(send: TenancyTestApp['send'], admin: Credential, name: string) {
  const reply = await send('GET', `/audit?target=role:${name}&order=asc`, admin);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return (reply.body.events as { payload: Record<string, unknown> }[]).map((e) => e.payload);
}

for (const engine of testEngines()) {
  describe(`role routes (${engine})`, () => {
    it('shows any caller the built-in roles and the permission catalogue', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const guest = await keyFor('acme', 'guest');
      const roles = await rolesOf(send, guest);
      assert.deepEqual(
        roles.map((role) => [role.name, role.built_in]),
        ROLES.map((name) => [name, true]),
      );
      const viewer = roles.find((role) => role.name === 'viewer');
      assert.deepEqual(viewer?.permissions, ['events:read', 'metrics:read']);
      assert.equal(typeof viewer?.description, 'string');
      const admin = roles.find((role) => role.name === 'admin');
      assert.equal(admin?.permissions.includes('platform:tenants'), false);

      const catalogue = await send('GET', '/permissions', guest);
      assert.equal(catalogue.status, 200);
      const permissions = catalogue.body.permissions as {
        name: string;
        description: string;
        platform: boolean;
      }[];
      assert.deepEqual(
        permissions.map((p) => p.name),
        [...PERMISSIONS],
      );
      assert.ok(permissions.every((p) => p.description.length > 0));
      assert.deepEqual(
        permissions.filter((p) => p.platform).map((p) => p.name),
        ['platform:tenants', 'platform:backups', 'platform:network'],
      );
    });

    it('creates, changes and deletes a custom role, auditing each change', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const created = await send('POST', '/roles', admin, {
        ...reader,
        permissions: ['metrics:read', 'events:read', 'events:read'],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(
        { ...created.body, created_at: null, updated_at: null },
        {
          name: 'reader',
          description: 'Reads events',
          permissions: ['events:read', 'metrics:read'],
          built_in: false,
          created_at: null,
          updated_at: null,
        },
      );
      assert.deepEqual(
        (await customOf(send, admin)).map((r) => [r.name, r.permissions]),
        [['reader', ['events:read', 'metrics:read']]],
      );

      const patched = await send('PATCH', '/roles/reader', admin, {
        permissions: ['events:read', 'events:write'],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.permissions, ['events:read', 'events:write']);
      assert.equal(patched.body.description, 'Reads events', 'left alone when not sent');
      const cleared = await send('PATCH', '/roles/reader', admin, { description: null });
      assert.equal(cleared.body.description, null);

      assert.equal((await send('DELETE', '/roles/reader', admin)).status, 204);
      assert.deepEqual(await customOf(send, admin), []);
      const again = await send('DELETE', '/roles/reader', admin);
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'role_not_found');

      const trail = await auditOf(send, admin, 'reader');
      assert.deepEqual(
        trail.map((e) => [e.action, e.outcome, e.target, e.actor_type]),
        [
          ['role.created', 'success', 'role:reader', 'api_key'],
          ['role.updated', 'success', 'role:reader', 'api_key'],
          ['role.updated', 'success', 'role:reader', 'api_key'],
          ['role.deleted', 'success', 'role:reader', 'api_key'],
        ],
      );
      assert.deepEqual(trail[0]?.details, { permissions: ['events:read', 'metrics:read'] });
      assert.deepEqual(trail[1]?.details, {
        permissions: ['events:read', 'events:write'],
        previous_permissions: ['events:read', 'metrics:read'],
      });
      assert.deepEqual(trail[3]?.details, { permissions: ['events:read', 'events:write'] });
    });

    it('rejects bad input with 400 and changes nothing', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      await send('POST', '/roles', admin, reader);
      for (const body of [
        { ...reader, name: 'Reader' },
        { ...reader, name: 'read_only' },
        { ...reader, name: '1reader' },
        { ...reader, name: 'x'.repeat(64) },
        { ...reader, name: 'other', permissions: ['platform:tenants'] },
        { ...reader, name: 'other', permissions: ['events:delete'] },
        { ...reader, name: 'other', extra: true },
        { name: 'other' },
      ]) {
        const reply = await send('POST', '/roles', admin, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.code, 'validation_failed');
      }
      for (const body of [
        {},
        { permissions: ['platform:backups'] },
        { permissions: [42] },
        { name: 'renamed' },
      ]) {
        const reply = await send('PATCH', '/roles/reader', admin, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
      }
      assert.deepEqual(
        (await customOf(send, admin)).map((r) => [r.name, r.permissions]),
        [['reader', ['events:read']]],
      );
      assert.equal((await auditOf(send, admin, 'reader')).length, 1, 'only the create');
    });

    it('keeps built-in roles immutable and custom names unique', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      for (const name of ['admin', 'viewer', 'guest']) {
        const taken = await send('POST', '/roles', admin, { ...reader, name });
        assert.equal(taken.status, 409, name);
        assert.equal(taken.body.code, 'role_exists');
        const patch = await send('PATCH', `/roles/${name}`, admin, { permissions: [] });
        assert.equal(patch.status, 403);
        assert.equal(patch.body.code, 'role_builtin');
        const remove = await send('DELETE', `/roles/${name}`, admin);
        assert.equal(remove.status, 403);
        assert.equal(remove.body.code, 'role_builtin');
      }
      // The primary key decides: of concurrent creates of one name exactly one succeeds.
      const racing = await Promise.all([1, 2, 3].map(() => send('POST', '/roles', admin, reader)));
      assert.deepEqual(racing.map((r) => r.status).sort(), [201, 409, 409]);
      const duplicate = await send('POST', '/roles', admin, { ...reader, permissions: [] });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.code, 'role_exists');
      const missing = await send('PATCH', '/roles/nobody', admin, { permissions: [] });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'role_not_found');
      assert.deepEqual((await rolesOf(send, admin)).find((r) => r.name === 'viewer')?.permissions, [
        'events:read',
        'metrics:read',
      ]);
      assert.deepEqual(
        (await customOf(send, admin)).map((r) => r.permissions),
        [['events:read']],
      );
    });

    it('needs credentials, and roles:manage to change roles', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      await send('POST', '/roles', admin, reader);
      const developer = await keyFor('acme', 'developer');
      const changes = [
        ['POST', '/roles', { ...reader, name: 'other' }],
        ['PATCH', '/roles/reader', { permissions: [] }],
        ['DELETE', '/roles/reader', undefined],
      ] as const;
      for (const [method, url, body] of changes) {
        const reply = await send(method, url, developer, body);
        assert.equal(reply.status, 403, `${method} ${url}`);
        assert.equal(reply.body.code, 'permission_denied');
        assert.equal(reply.body.permission, 'roles:manage');
      }
      assert.equal((await rolesOf(send, developer)).length, ROLES.length + 1);
      for (const [method, url, body] of [
        ...changes,
        ['GET', '/roles', undefined],
        ['GET', '/permissions', undefined],
      ] as const) {
        const reply = await send(method, url, null, body);
        assert.equal(reply.status, 401, `${method} ${url}`);
      }
      assert.deepEqual(
        (await customOf(send, admin)).map((r) => [r.name, r.permissions]),
        [['reader', ['events:read']]],
      );
    });

    it('keeps each tenant’s custom roles its own', async (t) => {
      const { send, keyFor, userWith } = await tenancyTestApp(t, engine);
      const acme = await keyFor('acme');
      const beta = await keyFor('beta');
      await send('POST', '/roles', acme, reader);
      assert.deepEqual(await customOf(send, beta), []);
      for (const [method, body] of [
        ['PATCH', { permissions: ['events:read', 'events:write'] }],
        ['DELETE', undefined],
      ] as const) {
        const reply = await send(method, '/roles/reader', beta, body);
        assert.equal(reply.status, 404, method);
        assert.equal(reply.body.code, 'role_not_found');
      }
      // In beta the name is unknown: it can be neither assigned nor given to a key.
      await userWith('vic@example.com', 'viewer password');
      const member = await send('PUT', '/tenants/beta/members', beta, {
        email: 'vic@example.com',
        roles: ['reader'],
      });
      assert.equal(member.status, 400);
      assert.equal(member.body.code, 'invalid_roles');
      const key = await send('POST', '/auth/api-keys', beta, { name: 'k', role: 'reader' });
      assert.equal(key.status, 400);
      assert.equal(key.body.code, 'invalid_roles');
      // Beta may have a role of the same name, with other permissions.
      const own = await send('POST', '/roles', beta, { ...reader, permissions: ['metrics:read'] });
      assert.equal(own.status, 201);
      assert.deepEqual(
        (await customOf(send, acme)).map((r) => r.permissions),
        [['events:read']],
      );
      assert.deepEqual(await auditOf(send, beta, 'reader').then((e) => e.length), 1);
    });
  });
}
