import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../src/config/load.ts';
import { hashPassword } from '../src/identity/login/passwords.ts';
import { apiKeyFor } from './helpers/auth.ts';
import { mfaPolicyApp, PASSWORD } from './helpers/mfa-policy-fixture.ts';
import { startNodes } from './helpers/nodes.ts';
import type { Credential } from './helpers/tenancy-fixture.ts';
import { testEngines } from './helpers/test-database.ts';
import { until } from './helpers/until.ts';

// Issue 18 items 5 and 8: the tenant's MFA policy and step-up on every sensitive route.

/**
 * Every route that needs a recent second factor where the tenant requires MFA: whatever
 * grants or removes access, credentials, network rules or data recovery. A new sensitive
 * route belongs here; the first test fails when a route's mark and this list differ.
 */
const STEP_UP_ROUTES = [
  'POST /api/v1/auth/password',
  'POST /api/v1/auth/api-keys',
  'DELETE /api/v1/auth/api-keys/:id',
  'POST /api/v1/oauth/clients',
  'PATCH /api/v1/oauth/clients/:id',
  'POST /api/v1/oauth/clients/:id/secret',
  'DELETE /api/v1/oauth/clients/:id',
  'POST /api/v1/roles',
  'PATCH /api/v1/roles/:name',
  'DELETE /api/v1/roles/:name',
  'POST /api/v1/tenants',
  'DELETE /api/v1/tenants/:id',
  'POST /api/v1/tenants/:id/activate',
  'POST /api/v1/tenants/:id/deactivate',
  'PATCH /api/v1/tenants/:id/sign-in-settings',
  'PUT /api/v1/tenants/:id/members',
  'DELETE /api/v1/tenants/:id/members/:user_id',
  'POST /api/v1/invitations',
  'POST /api/v1/users',
  'PUT /api/v1/users/:id/roles',
  'POST /api/v1/users/:id/deactivate',
  'POST /api/v1/users/:id/activate',
  'DELETE /api/v1/users/:id',
  'DELETE /api/v1/users/:id/sessions',
  'DELETE /api/v1/users/:id/mfa',
  'DELETE /api/v1/auth/mfa/totp',
  'POST /api/v1/auth/mfa/recovery-codes',
  'DELETE /api/v1/auth/passkeys/:id',
  'POST /api/v1/ip-filters',
  'DELETE /api/v1/ip-filters/:id',
  'DELETE /api/v1/lockouts/users/:user_id',
  'DELETE /api/v1/lockouts/ips/:ip',
  'POST /api/v1/backups',
  'GET /api/v1/backups/:id',
  'DELETE /api/v1/backups/:id',
  'POST /api/v1/sso/connections',
  'PATCH /api/v1/sso/connections/:id',
  'DELETE /api/v1/sso/connections/:id',
  'POST /api/v1/sso/deprovisioning/run',
  'POST /api/v1/webhooks',
  'PATCH /api/v1/webhooks/:id',
  'DELETE /api/v1/webhooks/:id',
  'POST /api/v1/webhooks/:id/secret/rotate',
  'POST /api/v1/webhooks/:id/replay',
].sort();

/** What a session that must enroll a factor may still do: see itself, end sessions. */
const MFA_SETUP_ROUTES = [
  'GET /api/v1/auth/me',
  'GET /api/v1/auth/mfa',
  'POST /api/v1/auth/logout',
  'GET /api/v1/auth/sessions',
  'DELETE /api/v1/auth/sessions',
  'DELETE /api/v1/auth/sessions/:id',
  'POST /api/v1/auth/mfa/totp',
  'POST /api/v1/auth/mfa/totp/confirm',
  'POST /api/v1/auth/mfa/step-up',
  'POST /api/v1/auth/passkeys/register/options',
  'POST /api/v1/auth/passkeys/register/verify',
  'GET /api/v1/auth/passkeys',
  'POST /api/v1/auth/mfa/webauthn/step-up-options',
].sort();

const STEP_UP_SECONDS = defaultConfig().mfa.step_up_seconds;

/** The route's method and URL with its parameters filled in (ids nobody holds). */
function request(route: string): [string, string] {
  const [method, url] = route.split(' ') as [string, string];
  const filled = url
    .replace(':ip', '203.0.113.7')
    .replace(/:[a-z_]+/g, 'no-such-id')
    .replace('/api/v1', '');
  return [method, filled];
}

for (const engine of testEngines()) {
  describe(`MFA policy and step-up (${engine})`, () => {
    it('marks exactly the listed routes as step-up and as open to enrollment', async (t) => {
      const { routes } = await mfaPolicyApp(t, engine);
      const marked = (flag: 'stepUp' | 'mfaSetup') =>
        routes.filter((route) => route[flag]).map((route) => `${route.method} ${route.url}`);
      assert.ok(routes.length > 50, 'every route seen');
      assert.deepEqual(marked('stepUp').sort(), STEP_UP_ROUTES);
      assert.deepEqual(marked('mfaSetup').sort(), MFA_SETUP_ROUTES);
    });

    it('"all" confines a member without a factor to enrolling, seeing itself and signing out', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      const other = await app.login('ann@acme.test', 'a long enough password', 'acme');
      await app.setPolicy('acme', 'all');
      const refused = await app.send('GET', '/permissions', ann.token);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'mfa_enrollment_required');
      // Asked before the route's permission: a route it may not use says the same.
      const unpermitted = await app.send('GET', '/users?limit=1', ann.token);
      assert.equal(unpermitted.body.code, 'mfa_enrollment_required');
      assert.equal((await app.send('GET', '/auth/me', ann.token)).status, 200);
      const sessions = await app.send('GET', '/auth/sessions', ann.token);
      assert.equal(sessions.status, 200);
      assert.equal((sessions.body.sessions as unknown[]).length, 2);
      assert.equal((await app.send('DELETE', '/auth/sessions', ann.token)).status, 200);
      assert.equal((await app.send('GET', '/auth/me', other)).body.code, 'session_revoked');
      assert.equal((await app.send('POST', '/auth/logout', ann.token)).status, 204);
      assert.equal((await app.send('GET', '/auth/me', ann.token)).status, 401);
    });

    it('a member with a factor must prove it, and then passes', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      const bob = await app.member('acme', 'bob@acme.test', ['viewer']);
      await app.giveTotp(bob.id);
      await app.setPolicy('acme', 'all');
      assert.equal(
        (await app.send('GET', '/permissions', bob.token)).body.code,
        'step_up_required',
      );
      await app.proveSecondFactor(bob.token);
      assert.equal((await app.send('GET', '/permissions', bob.token)).status, 200);
      // Long after the proof an ordinary route still answers: only sensitive ones ask again.
      app.clockAhead(STEP_UP_SECONDS * 10);
      assert.equal((await app.send('GET', '/permissions', bob.token)).status, 200);
    });

    it('"admins" covers administrators only, "off" nobody', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      const admin = await app.member('acme', 'admin@acme.test', ['admin']);
      const viewer = await app.member('acme', 'viewer@acme.test', ['viewer']);
      // A custom role granting members:manage makes an administrator too.
      const created = await app.send('POST', '/roles', await app.keyFor('acme'), {
        name: 'gatekeeper',
        permissions: ['members:manage'],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const keeper = await app.member('acme', 'keeper@acme.test', ['gatekeeper']);
      await app.setPolicy('acme', 'admins');
      for (const covered of [admin, keeper]) {
        const reply = await app.send('GET', '/permissions', covered.token);
        assert.equal(reply.body.code, 'mfa_enrollment_required');
      }
      assert.equal((await app.send('GET', '/permissions', viewer.token)).status, 200);
      await app.setPolicy('acme', 'off');
      for (const member of [admin, keeper, viewer]) {
        assert.equal((await app.send('GET', '/permissions', member.token)).status, 200);
      }
    });

    it('one tenant’s policy never reaches another tenant, even for the same identity', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      const inAcme = await app.member('acme', 'dee@example.test', ['admin']);
      await app.keyFor('globex');
      await app.services.tenancy.memberships.grant('globex', inAcme.id, ['admin']);
      const inGlobex = await app.login('dee@example.test', 'a long enough password', 'globex');
      const stranger = await app.member('globex', 'eve@globex.test', ['admin']);
      await app.setPolicy('acme', 'all');
      assert.equal(
        (await app.send('GET', '/permissions', inAcme.token)).body.code,
        'mfa_enrollment_required',
      );
      for (const token of [inGlobex, stranger.token]) {
        assert.equal((await app.send('GET', '/permissions', token)).status, 200);
        const [method, url] = request('DELETE /api/v1/users/:id/sessions');
        assert.notEqual((await app.send(method, url, token)).body.code, 'step_up_required');
      }
    });

    it('every step-up route asks a stale session for a second factor, and lets a fresh one by', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      // A platform administrator holds every permission any of these routes asks for.
      const root = await app.member('system', 'root@example.test', ['admin']);
      await app.giveTotp(root.id);
      await app.setPolicy('system', 'all');
      await app.proveSecondFactor(root.token);
      app.clockAhead(STEP_UP_SECONDS + 1);
      for (const route of STEP_UP_ROUTES) {
        const reply = await app.send(...request(route), root.token);
        assert.equal(reply.status, 403, route);
        assert.equal(reply.body.code, 'step_up_required', route);
        assert.equal(reply.body.step_up_seconds, STEP_UP_SECONDS, route);
      }
      app.clockAhead(0);
      for (const route of STEP_UP_ROUTES) {
        const reply = await app.send(...request(route), root.token);
        assert.notEqual(reply.body.code, 'step_up_required', route);
        assert.ok(reply.status < 500, `${route}: ${reply.status}`);
      }
    });

    it('a policy changed on one node reaches the sessions another node cached', async (t) => {
      const [a, b] = await startNodes(t, engine, 2);
      assert.ok(a && b);
      const platform = await apiKeyFor(b.services, 'system');
      await apiKeyFor(a.services, 'acme');
      const ann = await a.services.identity.users.createUser({
        email: 'ann@acme.test',
        password_hash: await hashPassword(PASSWORD),
      });
      await a.services.tenancy.memberships.grant('acme', ann.id, ['viewer']);
      const login = await a.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'ann@acme.test', password: PASSWORD, tenant_id: 'acme' },
      });
      const authorization = `Bearer ${login.json<{ access_token: string }>().access_token}`;
      const onA = async () =>
        (await a.app.inject({ url: '/api/v1/permissions', headers: { authorization } })).json<{
          code?: string;
        }>().code;
      assert.equal(await onA(), undefined);
      assert.equal(await onA(), undefined);
      assert.ok(a.services.identity.credentials.size > 0, 'node a answers from its cache');
      const changed = await b.app.inject({
        method: 'PATCH',
        url: '/api/v1/tenants/acme/sign-in-settings',
        headers: { 'x-api-key': platform },
        payload: { mfa_required: 'all' },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      await until(async () => (await onA()) === 'mfa_enrollment_required', 'node a hears it');
    });

    it('API keys are never asked for a second factor', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      await app.setPolicy('system', 'all');
      for (const route of STEP_UP_ROUTES) {
        const reply = await app.send(...request(route), app.platform as Credential);
        assert.ok(
          !['step_up_required', 'mfa_enrollment_required'].includes(reply.body.code as string),
          route,
        );
      }
    });
  });
}
