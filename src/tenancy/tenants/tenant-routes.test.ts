import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const acme = { id: 'acme', name: 'Acme Corp', plan: 'pro' };

for (const engine of testEngines()) {
  describe(`tenant routes (${engine})`, () => {
    it('creates, reads, lists, renames and refuses a taken id', async (t) => {
      const { send, platform } = await tenancyTestApp(t, engine);
      const created = await send('POST', '/tenants', platform, acme);
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.body).sort(), [
        'created_at',
        'deleted_at',
        'id',
        'name',
        'plan',
        'status',
        'updated_at',
      ]);
      assert.deepEqual(
        { ...created.body, created_at: 0, updated_at: 0 },
        { ...acme, status: 'active', created_at: 0, updated_at: 0, deleted_at: null },
      );
      assert.equal((await send('POST', '/tenants', platform, acme)).body.code, 'tenant_exists');
      assert.equal((await send('GET', '/tenants/acme', platform)).body.name, 'Acme Corp');

      const patched = await send('PATCH', '/tenants/acme', platform, {
        name: 'Acme',
        plan: 'free',
      });
      assert.equal(patched.status, 200);
      assert.deepEqual([patched.body.name, patched.body.plan], ['Acme', 'free']);

      await send('POST', '/tenants', platform, { id: 'beta', name: 'Beta', plan: 'free' });
      const page = await send('GET', '/tenants?limit=2', platform);
      assert.equal(page.status, 200);
      const ids = (page.body.tenants as { id: string }[]).map((tenant) => tenant.id);
      assert.deepEqual(ids, ['acme', 'beta']);
      const rest = await send('GET', `/tenants?limit=2&after=${page.body.next_cursor}`, platform);
      assert.deepEqual(
        (rest.body.tenants as { id: string }[]).map((tenant) => tenant.id),
        ['system'],
      );
      assert.equal(rest.body.next_cursor, null);
      assert.equal((await send('GET', '/tenants/nope', platform)).body.code, 'tenant_not_found');
    });

    it('rejects bad ids, unknown fields and empty changes, changing nothing', async (t) => {
      const { send, platform } = await tenancyTestApp(t, engine);
      const badId = await send('POST', '/tenants', platform, { ...acme, id: 'Bad_ID' });
      assert.equal(badId.status, 400);
      assert.equal(badId.body.code, 'validation_failed');
      const unknown = await send('POST', '/tenants', platform, { ...acme, owner: 'x' });
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body.errors, [
        { path: '/owner', message: 'is not an allowed property' },
      ]);
      assert.equal((await send('GET', '/tenants/Bad_ID', platform)).status, 400);
      assert.equal((await send('GET', '/tenants?bogus=1', platform)).status, 400);
      assert.equal((await send('GET', '/tenants/acme', platform)).status, 404);
      await send('POST', '/tenants', platform, acme);
      assert.equal((await send('PATCH', '/tenants/acme', platform, { status: 'x' })).status, 400);
      assert.equal((await send('PATCH', '/tenants/acme', platform, {})).status, 400);
      assert.equal((await send('PATCH', '/tenants/acme', platform, { plan: 'Pro!' })).status, 400);
      assert.equal((await send('GET', '/tenants/acme', platform)).body.plan, 'pro');
    });

    it('answers 401 without credentials on every route', async (t) => {
      const { send } = await tenancyTestApp(t, engine);
      for (const [method, url, body] of [
        ['POST', '/tenants', acme],
        ['GET', '/tenants', undefined],
        ['GET', '/tenants/acme', undefined],
        ['PATCH', '/tenants/acme', { name: 'x' }],
        ['DELETE', '/tenants/acme', undefined],
        ['POST', '/tenants/acme/activate', undefined],
        ['POST', '/tenants/acme/deactivate', undefined],
      ] as const) {
        const reply = await send(method, url, null, body);
        assert.equal(reply.status, 401, `${method} ${url}`);
        assert.equal(reply.body.code, 'unauthorized');
      }
    });

    it('lets a tenant admin read only its own tenant and administer none', async (t) => {
      const { send, platform, keyFor } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, acme);
      const acmeAdmin = await keyFor('acme');
      await keyFor('beta');
      const own = await send('GET', '/tenants/acme', acmeAdmin);
      assert.equal(own.status, 200);
      assert.equal(own.body.id, 'acme');
      for (const id of ['beta', 'system', 'missing']) {
        // The same 403 for a tenant that does not exist: existence is not revealed.
        const other = await send('GET', `/tenants/${id}`, acmeAdmin);
        assert.equal(other.status, 403, id);
        assert.equal(other.body.code, 'permission_denied');
      }
      for (const [method, url, body] of [
        ['POST', '/tenants', { id: 'new', name: 'New', plan: 'free' }],
        ['GET', '/tenants', undefined],
        ['PATCH', '/tenants/acme', { plan: 'enterprise' }],
        ['DELETE', '/tenants/beta', undefined],
        ['POST', '/tenants/beta/deactivate', undefined],
        ['POST', '/tenants/acme/activate', undefined],
      ] as const) {
        const reply = await send(method, url, acmeAdmin, body);
        assert.equal(reply.status, 403, `${method} ${url}`);
        assert.equal(reply.body.code, 'permission_denied');
      }
      assert.equal((await send('GET', '/tenants/acme', platform)).body.plan, 'pro');
      assert.equal((await send('GET', '/tenants/new', platform)).status, 404);
    });

    it('suspends and reactivates a tenant: its keys and tokens get 403 meanwhile', async (t) => {
      const { send, platform, keyFor, userWith, login } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, acme);
      const key = await keyFor('acme');
      await userWith('ann@example.com', 'correct horse');
      await send('PUT', '/tenants/acme/members', platform, {
        email: 'ann@example.com',
        roles: ['viewer'],
      });
      const token = await login('ann@example.com', 'correct horse', 'acme');
      assert.equal((await send('GET', '/stats', key)).status, 200);

      const suspended = await send('POST', '/tenants/acme/deactivate', platform);
      assert.equal(suspended.status, 200);
      assert.equal(suspended.body.status, 'suspended');
      for (const credential of [key, token]) {
        const refused = await send('GET', '/stats', credential);
        assert.equal(refused.status, 403);
        assert.equal(refused.body.code, 'tenant_suspended');
      }

      const active = await send('POST', '/tenants/acme/activate', platform);
      assert.equal(active.body.status, 'active');
      assert.equal((await send('GET', '/stats', key)).status, 200);
      assert.equal((await send('GET', '/stats', token)).status, 200);
      assert.equal((await send('POST', '/tenants/nope/deactivate', platform)).status, 404);
    });

    it('deletes softly: 404 afterwards, keys stop working, the id stays taken', async (t) => {
      const { send, platform, keyFor } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, acme);
      const key = await keyFor('acme');
      const deleted = await send('DELETE', '/tenants/acme', platform);
      assert.equal(deleted.status, 204);
      assert.equal((await send('GET', '/tenants/acme', platform)).body.code, 'tenant_not_found');
      assert.equal((await send('DELETE', '/tenants/acme', platform)).status, 404);
      assert.equal((await send('PATCH', '/tenants/acme', platform, { name: 'x' })).status, 404);
      assert.equal((await send('GET', '/stats', key)).status, 401);
      assert.equal((await send('POST', '/tenants', platform, acme)).body.code, 'tenant_exists');
      const listed = await send('GET', '/tenants', platform);
      assert.ok(!(listed.body.tenants as { id: string }[]).some((tenant) => tenant.id === 'acme'));
      const all = await send('GET', '/tenants?include_deleted=true', platform);
      const gone = (all.body.tenants as { id: string; deleted_at: unknown }[]).find(
        (tenant) => tenant.id === 'acme',
      );
      assert.equal(typeof gone?.deleted_at, 'string');
    });

    it('protects the system tenant', async (t) => {
      const { send, platform } = await tenancyTestApp(t, engine);
      for (const [method, url] of [
        ['POST', '/tenants/system/deactivate'],
        ['DELETE', '/tenants/system'],
      ] as const) {
        const reply = await send(method, url, platform);
        assert.equal(reply.status, 409, url);
        assert.equal(reply.body.code, 'tenant_protected');
      }
      assert.equal((await send('GET', '/tenants', platform)).status, 200);
    });
  });
}
