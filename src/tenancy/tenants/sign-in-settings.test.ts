import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const path = (tenant: string) => `/tenants/${tenant}/sign-in-settings`;

for (const engine of testEngines()) {
  describe(`tenant sign-in settings (${engine})`, () => {
    it('a tenant administrator reads and changes their own, audited', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const initial = await send('GET', path('acme'), admin);
      assert.equal(initial.status, 200);
      assert.deepEqual(initial.body, {
        tenant_id: 'acme',
        require_verified_email: false,
        redirect_uris: [],
        mfa_required: 'off',
      });
      const changed = await send('PATCH', path('acme'), admin, {
        require_verified_email: true,
        redirect_uris: ['https://app.acme.test/signed-in', 'http://localhost:5173/cb'],
      });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body, {
        tenant_id: 'acme',
        require_verified_email: true,
        redirect_uris: ['https://app.acme.test/signed-in', 'http://localhost:5173/cb'],
        mfa_required: 'off',
      });
      const partly = await send('PATCH', path('acme'), admin, { require_verified_email: false });
      assert.deepEqual(partly.body.redirect_uris, [
        'https://app.acme.test/signed-in',
        'http://localhost:5173/cb',
      ]);
      const trail = await send(
        'GET',
        '/audit?action=tenant.sign_in_settings_updated&limit=10',
        admin,
      );
      assert.equal(trail.status, 200);
      assert.equal((trail.body.events as unknown[]).length, 2);
    });

    it('mfa_required is changed, audited, and reaches the sessions the guard cached', async (t) => {
      const { send, keyFor, userWith, login, services } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const userId = await userWith('ann@acme.test', 'a long enough password');
      await services.tenancy.memberships.grant('acme', userId, ['viewer']);
      const ann = await login('ann@acme.test', 'a long enough password', 'acme');
      // Twice, so the second answer comes from the node's credential cache.
      for (let i = 0; i < 2; i++) assert.equal((await send('GET', '/auth/me', ann)).status, 200);
      assert.equal((await send('GET', '/permissions', ann)).status, 200);
      for (const policy of ['admins', 'all', 'off', 'all'] as const) {
        const changed = await send('PATCH', path('acme'), admin, { mfa_required: policy });
        assert.equal(changed.status, 200, JSON.stringify(changed.body));
        assert.equal(changed.body.mfa_required, policy);
      }
      assert.equal((await send('GET', path('acme'), admin)).body.mfa_required, 'all');
      const covered = await send('GET', '/permissions', ann);
      assert.equal(covered.status, 403);
      assert.equal(covered.body.code, 'mfa_enrollment_required');
      const trail = await send(
        'GET',
        '/audit?action=tenant.sign_in_settings_updated&order=asc&limit=10',
        admin,
      );
      const events = trail.body.events as { payload: { details: Record<string, unknown> } }[];
      assert.deepEqual(
        events.map((event) => event.payload.details.mfa_required),
        ['admins', 'all', 'off', 'all'],
      );
    });

    it('refuses other tenants, weaker roles and bad redirect URIs, changing nothing', async (t) => {
      const { send, keyFor, platform } = await tenancyTestApp(t, engine);
      const acme = await keyFor('acme');
      const other = await keyFor('other');
      const viewer = await keyFor('acme', 'viewer');
      for (const [as, method] of [
        [other, 'GET'],
        [other, 'PATCH'],
        [viewer, 'PATCH'],
      ] as const) {
        const refused = await send(method, path('acme'), as, { require_verified_email: true });
        assert.equal(refused.status, 403, `${method} refused`);
        assert.equal(refused.body.code, 'permission_denied');
      }
      for (const uri of [
        'http://app.acme.test/cb',
        'https://app.acme.test/cb#frag',
        'https://user:pw@app.acme.test/cb',
        'javascript:alert(1)',
        'not a url',
      ]) {
        const bad = await send('PATCH', path('acme'), acme, { redirect_uris: [uri] });
        assert.equal(bad.status, 400, uri);
        assert.equal(bad.body.code, 'invalid_redirect_uri');
      }
      const empty = await send('PATCH', path('acme'), acme, {});
      assert.equal(empty.status, 400);
      for (const policy of ['none', 'ADMINS', '', true, null, ['all']]) {
        const bad = await send('PATCH', path('acme'), acme, { mfa_required: policy });
        assert.equal(bad.status, 400, JSON.stringify(policy));
        assert.equal(bad.body.code, 'validation_failed');
      }
      assert.deepEqual((await send('GET', path('acme'), acme)).body, {
        tenant_id: 'acme',
        require_verified_email: false,
        redirect_uris: [],
        mfa_required: 'off',
      });
      // A platform administrator reaches any tenant; a missing one is a 404.
      const byPlatform = await send('PATCH', path('acme'), platform, {
        require_verified_email: true,
      });
      assert.equal(byPlatform.status, 200);
      const missing = await send('GET', path('nope'), platform);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'tenant_not_found');
    });
  });
}
