import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const acme = { id: 'acme', name: 'Acme Corp', plan: 'pro' };
const event = { events: [{ event_type: 'Opened', payload: { n: 1 } }] };

for (const engine of testEngines()) {
  describe(`POST /tenants with a first admin (${engine})`, () => {
    it('creates a new user who logs in to the tenant as its admin', async (t) => {
      const { send, platform, login } = await tenancyTestApp(t, engine);
      const admin = { email: 'Boss@Example.com', password: 'long enough secret' };
      const created = await send('POST', '/tenants', platform, { ...acme, admin });
      assert.equal(created.status, 201);
      const token = await login('boss@example.com', admin.password, 'acme');
      assert.equal((await send('POST', '/entities/e-1/events', token, event)).status, 201);
      assert.equal((await send('GET', '/tenants/acme', token)).status, 200);
      const members = await send('GET', '/tenants/acme/members', token);
      assert.deepEqual(
        (members.body.members as { email: string; roles: string[] }[]).map((m) => [
          m.email,
          m.roles,
        ]),
        [['boss@example.com', ['admin']]],
      );
    });

    it('makes an existing user admin without changing their password', async (t) => {
      const { send, platform, userWith, login } = await tenancyTestApp(t, engine);
      await userWith('old@example.com', 'the original one');
      const admin = { email: 'old@example.com', password: 'a different password' };
      assert.equal((await send('POST', '/tenants', platform, { ...acme, admin })).status, 201);
      const wrong = await send('POST', '/auth/login', null, { ...admin, tenant_id: 'acme' });
      assert.equal(wrong.status, 401);
      const token = await login('old@example.com', 'the original one', 'acme');
      assert.equal((await send('POST', '/entities/e-1/events', token, event)).status, 201);
    });

    it('creates nothing when the new admin’s password or email is refused', async (t) => {
      const { send, platform, services } = await tenancyTestApp(t, engine);
      for (const [admin, code] of [
        [{ email: 'new@example.com', password: 'short' }, 'weak_password'],
        [{ email: 'new@example.com' }, 'weak_password'],
        [{ email: 'not an email', password: 'long enough secret' }, 'invalid_email'],
      ] as const) {
        const refused = await send('POST', '/tenants', platform, { ...acme, admin });
        assert.equal(refused.status, 400);
        assert.equal(refused.body.code, code);
      }
      const extra = { email: 'new@example.com', password: 'long enough secret', role: 'x' };
      assert.equal(
        (await send('POST', '/tenants', platform, { ...acme, admin: extra })).status,
        400,
      );
      assert.equal((await send('GET', '/tenants/acme', platform)).status, 404);
      assert.equal(await services.identity.users.findByEmail('new@example.com'), undefined);
    });

    it('rolls the new user back when the tenant id is taken', async (t) => {
      const { send, platform, services } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, acme);
      const admin = { email: 'late@example.com', password: 'long enough secret' };
      const taken = await send('POST', '/tenants', platform, { ...acme, admin });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.code, 'tenant_exists');
      assert.equal(await services.identity.users.findByEmail('late@example.com'), undefined);
    });
  });
}
