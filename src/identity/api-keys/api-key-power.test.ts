import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Credential } from '../../../test/helpers/tenancy-fixture.ts';
import { usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;
const append = { events: [{ event_type: 'Noted', payload: {} }] };
const LOCKOUT = { lockout: { max_failures: 2, ip_delay_ms: 1, ip_max_delay_ms: 1 } };

/** Issue 15, items 3 and 4: who may manage a key, and what a key may do. */
for (const engine of testEngines()) {
  describe(`API keys and the power behind them (${engine})`, () => {
    it('lets nobody revoke a key or unlock a member stronger than themselves', async (t) => {
      const app = await usersTestApp(t, engine, LOCKOUT);
      const { send, member, keyFor } = app;
      const admin = await keyFor('acme');
      for (const [name, permissions] of [
        ['keymgr', ['api_keys:manage', 'events:read', 'metrics:read']],
        ['unlocker', ['users:manage', 'events:read']],
      ] as const) {
        assert.equal((await send('POST', '/roles', admin, { name, permissions })).status, 201);
      }
      const ada = await member('acme', 'ada@example.com', ['admin']);
      const kim = await member('acme', 'kim@example.com', ['keymgr']);
      const uma = await member('acme', 'uma@example.com', ['unlocker']);
      const create = async (role: string) => {
        const reply = await send('POST', '/auth/api-keys', ada.token, { name: role, role });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        return { id: String(reply.body.id), key: { key: String(reply.body.key) } };
      };
      const strong = await create('admin');
      const weak = await create('viewer');

      const refused = await send('DELETE', `/auth/api-keys/${strong.id}`, kim.token);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'role_not_delegable');
      assert.equal((await send('POST', '/entities/e/events', strong.key, append)).status, 201);
      assert.equal((await send('DELETE', `/auth/api-keys/${weak.id}`, kim.token)).status, 204);
      const gone = await send('GET', '/entities', weak.key);
      assert.equal(gone.body.code, 'api_key_revoked');

      // A member with users:manage but less than an admin cannot lift an admin's lock.
      for (let i = 0; i < 2; i++) {
        await send('POST', '/auth/login', null, {
          email: 'ada@example.com',
          password: 'wrong password!',
          tenant_id: 'acme',
        });
      }
      const unlock = await send('DELETE', `/lockouts/users/${ada.id}`, uma.token);
      assert.equal(unlock.status, 403);
      assert.equal(unlock.body.code, 'role_not_delegable');
      assert.equal((await send('DELETE', `/lockouts/users/${ada.id}`, admin)).status, 204);
    });

    it('caps a key by its creator’s current roles in its tenant', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, platform } = app;
      const admin = await keyFor('acme');
      const ben = await member('acme', 'ben@example.com', ['admin']);
      // Someone must stay admin while Ben is demoted (the last-admin rule).
      await member('acme', 'ada@example.com', ['admin']);
      const made = await send('POST', '/auth/api-keys', ben.token, { name: 'ci', role: 'admin' });
      assert.equal(made.status, 201);
      const key: Credential = { key: String(made.body.key) };
      const can = async () => ({
        read: (await send('GET', '/entities', key)).status,
        write: (await send('POST', '/entities/e/events', key, append)).status,
      });
      assert.deepEqual(await can(), { read: 200, write: 201 });
      const setRoles = async (roles: string[]) =>
        assert.equal((await send('PUT', `/users/${ben.id}/roles`, admin, { roles })).status, 200);

      await setRoles(['viewer']);
      assert.deepEqual(await can(), { read: 200, write: 403 }, 'demoted with its creator');
      await setRoles(['admin']);
      assert.deepEqual(await can(), { read: 200, write: 201 });

      assert.equal((await send('POST', `/users/${ben.id}/deactivate`, admin)).status, 200);
      const off = await send('GET', '/entities', key);
      assert.equal(off.status, 401);
      assert.equal(off.body.code, 'api_key_creator_gone');
      assert.equal((await send('POST', `/users/${ben.id}/activate`, admin)).status, 200);
      assert.deepEqual(await can(), { read: 200, write: 201 });

      // Removed from acme (a membership ended, the identity kept): the key grants nothing.
      assert.equal((await send('DELETE', `/tenants/acme/members/${ben.id}`, platform)).status, 204);
      const removed = await send('GET', '/entities', key);
      assert.equal(removed.status, 401);
      assert.equal(removed.body.code, 'api_key_creator_gone');
      // A key an operator made (no creator) is the tenant's own: its role alone caps it.
      assert.equal((await send('POST', '/entities/e/events', admin, append)).status, 201);
      const listed = await send('GET', '/auth/api-keys', admin);
      const ci = (listed.body.api_keys as Json[] | undefined)?.find((k) => k.name === 'ci');
      assert.equal(ci?.created_by, ben.id);
    });
  });
}
