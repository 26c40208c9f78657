import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addSamlConnection } from '../../../test/helpers/sso-enforcement-fixture.ts';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const path = (tenant: string) => `/tenants/${tenant}/sign-in-settings`;
const SSO_DEFAULTS = { sso_enforced: false, sso_break_glass: [], sso_deprovision_days: null };

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
        ...SSO_DEFAULTS,
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
        ...SSO_DEFAULTS,
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
        ...SSO_DEFAULTS,
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

    it('SSO enforcement: needs an enabled connection and a break-glass admin, audited', async (t) => {
      const { send, keyFor, userWith, services } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      await keyFor('other');
      const boss = await userWith('boss@acme.test', 'a long enough password');
      const ann = await userWith('ann@acme.test', 'a long enough password');
      const gone = await userWith('gone@acme.test', 'a long enough password');
      const outsider = await userWith('admin@other.test', 'a long enough password');
      await services.tenancy.memberships.grant('acme', boss, ['admin']);
      await services.tenancy.memberships.grant('acme', ann, ['viewer']);
      await services.tenancy.memberships.grant('acme', gone, ['admin']);
      await services.tenancy.memberships.grant('other', outsider, ['admin']);
      const deactivated = await send('POST', `/users/${gone}/deactivate`, admin);
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));

      const refusals: [unknown, number, string, string][] = [
        // No enabled connection yet: nobody but the break-glass admins could sign in.
        [
          { sso_enforced: true, sso_break_glass: [boss] },
          409,
          'sso_not_configured',
          '/sso_enforced',
        ],
        [{ sso_enforced: true }, 400, 'break_glass_required', '/sso_break_glass'],
        [
          { sso_enforced: true, sso_break_glass: [] },
          400,
          'break_glass_required',
          '/sso_break_glass',
        ],
        [{ sso_break_glass: [boss, ann] }, 400, 'break_glass_not_admin', '/sso_break_glass/1'],
        [{ sso_break_glass: [gone] }, 400, 'break_glass_not_admin', '/sso_break_glass/0'],
        [{ sso_break_glass: ['u_nobody'] }, 400, 'break_glass_not_admin', '/sso_break_glass/0'],
        // An administrator of another tenant is nobody here.
        [{ sso_break_glass: [boss, outsider] }, 400, 'break_glass_not_admin', '/sso_break_glass/1'],
      ];
      for (const [body, status, code, field] of refusals) {
        const refused = await send('PATCH', path('acme'), admin, body);
        assert.equal(refused.status, status, JSON.stringify(body));
        assert.equal(refused.body.code, code, JSON.stringify(refused.body));
        assert.deepEqual(
          (refused.body.errors as { path: string }[]).map((error) => error.path),
          [field],
        );
      }
      for (const body of [
        { sso_deprovision_days: 0 },
        { sso_deprovision_days: 3651 },
        { sso_deprovision_days: 1.5 },
        { sso_deprovision_days: '30' },
        { sso_enforced: 'yes' },
        { sso_break_glass: [boss, boss] },
        { sso_break_glass: [''] },
        { sso_break_glass: Array.from({ length: 21 }, (_, i) => `u_${i}`) },
      ]) {
        const bad = await send('PATCH', path('acme'), admin, body);
        assert.equal(bad.status, 400, JSON.stringify(body));
        assert.equal(bad.body.code, 'validation_failed');
      }
      assert.deepEqual(
        (await send('GET', path('acme'), admin)).body,
        {
          tenant_id: 'acme',
          require_verified_email: false,
          redirect_uris: [],
          mfa_required: 'off',
          ...SSO_DEFAULTS,
        },
        'a refusal changes nothing',
      );

      await addSamlConnection(send, admin, 'acme');
      const enforced = await send('PATCH', path('acme'), admin, {
        sso_enforced: true,
        sso_break_glass: [boss],
        sso_deprovision_days: 90,
      });
      assert.equal(enforced.status, 200, JSON.stringify(enforced.body));
      assert.equal(enforced.body.sso_enforced, true);
      assert.deepEqual(enforced.body.sso_break_glass, [boss]);
      assert.equal(enforced.body.sso_deprovision_days, 90);
      // While enforced, the list cannot be emptied.
      const emptied = await send('PATCH', path('acme'), admin, { sso_break_glass: [] });
      assert.equal(emptied.status, 400);
      assert.equal(emptied.body.code, 'break_glass_required');
      const off = await send('PATCH', path('acme'), admin, {
        sso_enforced: false,
        sso_break_glass: [],
        sso_deprovision_days: null,
      });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.deepEqual(
        { ...off.body, tenant_id: undefined },
        {
          tenant_id: undefined,
          require_verified_email: false,
          redirect_uris: [],
          mfa_required: 'off',
          ...SSO_DEFAULTS,
        },
      );
      const trail = await send(
        'GET',
        '/audit?action=tenant.sign_in_settings_updated&order=asc&limit=10',
        admin,
      );
      const events = trail.body.events as { payload: { details: Record<string, unknown> } }[];
      assert.deepEqual(
        events.map((event) => event.payload.details),
        [
          { sso_enforced: true, sso_break_glass: [boss], sso_deprovision_days: 90 },
          { sso_enforced: false, sso_break_glass: [], sso_deprovision_days: null },
        ],
      );
    });

    it('SSO settings: another tenant’s admin can neither read nor change them', async (t) => {
      const { send, keyFor, userWith, services } = await tenancyTestApp(t, engine);
      const acme = await keyFor('acme');
      const other = await keyFor('other');
      const boss = await userWith('boss@other.test', 'a long enough password');
      await services.tenancy.memberships.grant('other', boss, ['admin']);
      await addSamlConnection(send, other, 'other');
      for (const method of ['GET', 'PATCH'] as const) {
        const refused = await send(method, path('acme'), other, {
          sso_enforced: true,
          sso_break_glass: [boss],
        });
        assert.equal(refused.status, 403, method);
        assert.equal(refused.body.code, 'permission_denied');
      }
      // Another tenant's connection does not count for acme either.
      await services.tenancy.memberships.grant('acme', boss, ['admin']);
      const unconfigured = await send('PATCH', path('acme'), acme, {
        sso_enforced: true,
        sso_break_glass: [boss],
      });
      assert.equal(unconfigured.status, 409);
      assert.equal(unconfigured.body.code, 'sso_not_configured');
      assert.equal((await send('GET', path('acme'), acme)).body.sso_enforced, false);
    });
  });
}
