import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { buildTestApp, type DeepPartial, type TestApp } from '../../../test/helpers/app.ts';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { Config } from '../../config/schema.ts';
import type { Engine } from '../../storage/database.ts';
import { createMembershipStore } from '../../tenancy/memberships/membership-store.ts';
import { hashPassword } from './passwords.ts';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
}

const PASSWORD = 'correct horse battery';

async function authApp(
  t: TestContext,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<TestApp> {
  const test = await buildTestApp(overrides, engine, { actAs: false });
  t.after(() => test.close());
  return test;
}

async function request(
  test: TestApp,
  method: 'GET' | 'POST',
  url: string,
  options: { body?: object; token?: string } = {},
): Promise<Reply> {
  const response = await test.app.inject({
    method,
    url: `/api/v1${url}`,
    ...(options.body === undefined ? {} : { payload: options.body }),
    ...(options.token === undefined
      ? {}
      : { headers: { authorization: `Bearer ${options.token}` } }),
  });
  return {
    status: response.statusCode,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

/** A user with `password`, member of each tenant (created when missing) with `roles`. */
async function userIn(
  test: TestApp,
  email: string,
  tenants: readonly string[],
  roles: readonly string[] = ['admin'],
  password: string | null = PASSWORD,
): Promise<string> {
  const { services } = test;
  const user = await services.identity.users.createUser({
    email,
    password_hash: password === null ? null : await hashPassword(password),
  });
  for (const tenant of tenants) {
    if (!(await services.tenancy.tenants.get(tenant))) {
      await services.tenancy.tenants.create({ id: tenant, name: tenant, plan: 'free' });
    }
    await services.tenancy.memberships.grant(tenant, user.id, roles);
  }
  return user.id;
}

function login(test: TestApp, body: Record<string, string>): Promise<Reply> {
  return request(test, 'POST', '/auth/login', { body: { password: PASSWORD, ...body } });
}

async function tokensOf(test: TestApp, email: string, password = PASSWORD) {
  const reply = await request(test, 'POST', '/auth/login', { body: { email, password } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return { access: String(reply.body.access_token), refresh: String(reply.body.refresh_token) };
}

const me = (test: TestApp, token: string) => request(test, 'GET', '/auth/me', { token });

function withoutRequestId(body: Record<string, unknown>): Record<string, unknown> {
  const { request_id, ...rest } = body;
  assert.equal(typeof request_id, 'string');
  return rest;
}

function assertProblem(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.code, code);
}

for (const engine of testEngines()) {
  describe(`auth routes (${engine})`, () => {
    it('logs in with a Bearer token set whose JWT carries every access claim', async (t) => {
      const test = await authApp(t, engine);
      const userId = await userIn(test, 'Ann@Example.com', ['acme'], ['developer']);
      const reply = await login(test, { email: '  ann@example.COM ' });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.token_type, 'Bearer');
      assert.equal(reply.body.expires_in, test.config.auth.access_token_ttl_seconds);
      assert.equal(reply.body.tenant_id, 'acme');
      assert.match(String(reply.body.refresh_token), /^tsr_/);
      const token = String(reply.body.access_token);
      const header = decodeProtectedHeader(token);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(header.typ, 'at+jwt');
      assert.equal(typeof header.kid, 'string');
      const claims = decodeJwt(token);
      assert.deepEqual(Object.keys(claims).sort(), [
        'amr',
        'aud',
        'auth_time',
        'email_verified',
        'exp',
        'iat',
        'iss',
        'jti',
        'roles',
        'sid',
        'sub',
        'tid',
      ]);
      assert.equal(claims.iss, test.services.identity.issuer);
      assert.equal(claims.aud, test.config.auth.audience);
      assert.equal(claims.sub, userId);
      assert.equal(claims.email_verified, false);
      // RFC 8176: a password alone; auth_time is when this login happened.
      assert.deepEqual(claims.amr, ['pwd']);
      assert.ok(Math.abs(Number(claims.auth_time) - Number(claims.iat)) <= 1);
      assert.equal(claims.tid, 'acme');
      assert.deepEqual(claims.roles, ['developer']);
      assert.equal(typeof claims.sid, 'string');
      assert.equal(typeof claims.jti, 'string');
      assert.equal(
        Number(claims.exp) - Number(claims.iat),
        test.config.auth.access_token_ttl_seconds,
      );
      assert.equal((await me(test, token)).status, 200);
    });

    it('answers an unknown email, a wrong password, a disabled and a passwordless user alike', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'ann@example.com', ['acme']);
      const disabled = await userIn(test, 'off@example.com', ['acme']);
      await test.db.kysely
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', disabled)
        .execute();
      await userIn(test, 'sso@example.com', ['acme'], ['admin'], null);
      const attempts = [
        await login(test, { email: 'nobody@example.com' }),
        await login(test, { email: 'ann@example.com', password: 'wrong password' }),
        await login(test, { email: 'off@example.com' }),
        await login(test, { email: 'sso@example.com' }),
      ];
      const [first, ...rest] = attempts.map((reply) => {
        assertProblem(reply, 401, 'invalid_credentials');
        return withoutRequestId(reply.body);
      });
      for (const body of rest) assert.deepEqual(body, first);
      // The same answer sent with differing headers would tell the cases apart just as well.
      assert.deepEqual(
        new Set(attempts.map((reply) => reply.headers['www-authenticate'])),
        new Set([attempts[0]?.headers['www-authenticate']]),
      );
    });

    it('makes a user of several tenants name one, and never lists them', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'ann@example.com', ['acme', 'globex']);
      await test.services.tenancy.tenants.create({ id: 'initech', name: 'Initech', plan: 'free' });
      const ambiguous = await login(test, { email: 'ann@example.com' });
      assertProblem(ambiguous, 400, 'tenant_required');
      const text = JSON.stringify(ambiguous.body);
      assert.ok(!text.includes('acme') && !text.includes('globex'), text);

      const named = await login(test, { email: 'ann@example.com', tenant_id: 'globex' });
      assert.equal(named.status, 200);
      assert.equal(named.body.tenant_id, 'globex');
      assert.equal(decodeJwt(String(named.body.access_token)).tid, 'globex');
      const seen = await me(test, String(named.body.access_token));
      assert.equal(seen.body.tenant_id, 'globex');

      for (const tenant_id of ['initech', 'no-such-tenant']) {
        const stranger = await login(test, { email: 'ann@example.com', tenant_id });
        assertProblem(stranger, 401, 'invalid_credentials');
      }
      // Naming a tenant reveals nothing to someone without the password.
      const guess = await login(test, {
        email: 'ann@example.com',
        password: 'wrong password',
        tenant_id: 'acme',
      });
      assertProblem(guess, 401, 'invalid_credentials');
    });

    it('refuses a user without membership (403) and one whose tenant is suspended', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'loner@example.com', []);
      assertProblem(await login(test, { email: 'loner@example.com' }), 403, 'membership_required');

      await userIn(test, 'ann@example.com', ['acme']);
      const { access, refresh } = await tokensOf(test, 'ann@example.com');
      await test.services.tenancy.tenants.setStatus('acme', 'suspended');
      assertProblem(await login(test, { email: 'ann@example.com' }), 403, 'tenant_suspended');
      // Tokens issued before the suspension stop working too.
      assertProblem(await me(test, access), 403, 'tenant_suspended');
      const refreshed = await request(test, 'POST', '/auth/refresh', {
        body: { refresh_token: refresh },
      });
      assertProblem(refreshed, 403, 'tenant_suspended');

      await test.services.tenancy.tenants.setStatus('acme', 'active');
      assert.equal((await me(test, access)).status, 200);
      // The refused refresh did not consume the token: it still works, and is no "reuse".
      const after = await request(test, 'POST', '/auth/refresh', {
        body: { refresh_token: refresh },
      });
      assert.equal(after.status, 200);
    });

    it('gives two tabs refreshing with one token at once the same successor, session alive', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'ann@example.com', ['acme']);
      const first = await tokensOf(test, 'ann@example.com');
      const refresh = (refresh_token: string) =>
        request(test, 'POST', '/auth/refresh', { body: { refresh_token } });
      const tabs = await Promise.all([refresh(first.refresh), refresh(first.refresh)]);
      assert.deepEqual(
        tabs.map((tab) => tab.status),
        [200, 200],
      );
      assert.equal(tabs[0]?.body.refresh_token, tabs[1]?.body.refresh_token);
      for (const tab of tabs)
        assert.equal((await me(test, String(tab.body.access_token))).status, 200);
      assert.equal((await refresh(String(tabs[0]?.body.refresh_token))).status, 200);
    });

    it('rotates refresh tokens, and a reused one ends the whole session', async (t) => {
      // No grace period: the second use right away is a reuse (see refresh-grace.test.ts).
      const test = await authApp(t, engine, { auth: { refresh_grace_seconds: 0 } });
      await userIn(test, 'ann@example.com', ['acme']);
      const first = await tokensOf(test, 'ann@example.com');
      const refresh = (refresh_token: string) =>
        request(test, 'POST', '/auth/refresh', { body: { refresh_token } });

      const rotated = await refresh(first.refresh);
      assert.equal(rotated.status, 200);
      assert.equal(rotated.body.token_type, 'Bearer');
      assert.equal(rotated.body.tenant_id, 'acme');
      const second = {
        access: String(rotated.body.access_token),
        refresh: String(rotated.body.refresh_token),
      };
      assert.notEqual(second.refresh, first.refresh);
      assert.notEqual(second.access, first.access);
      // Same session: the new access token carries the same sid.
      assert.equal(decodeJwt(second.access).sid, decodeJwt(first.access).sid);
      assert.equal((await me(test, second.access)).status, 200);

      assertProblem(await refresh(first.refresh), 401, 'refresh_token_reused');
      assertProblem(await refresh(second.refresh), 401, 'session_revoked');
      assertProblem(await me(test, second.access), 401, 'session_revoked');
      assertProblem(await me(test, first.access), 401, 'session_revoked');
      assertProblem(await refresh('tsr_not-a-token-we-issued'), 401, 'refresh_token_invalid');

      // Another session of the same user is untouched.
      const other = await tokensOf(test, 'ann@example.com');
      assert.equal((await me(test, other.access)).status, 200);
    });

    it('logs out with 204, after which the access and refresh tokens are refused', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'ann@example.com', ['acme']);
      const { access, refresh } = await tokensOf(test, 'ann@example.com');
      const out = await request(test, 'POST', '/auth/logout', { token: access });
      assert.equal(out.status, 204);
      const after = await me(test, access);
      assertProblem(after, 401, 'session_revoked');
      assert.match(String(after.headers['www-authenticate']), /^Bearer /);
      const refreshed = await request(test, 'POST', '/auth/refresh', {
        body: { refresh_token: refresh },
      });
      assertProblem(refreshed, 401, 'session_revoked');
      assertProblem(await request(test, 'POST', '/auth/logout'), 401, 'unauthorized');
    });

    it('describes the caller: user, tenant, roles and sorted permissions', async (t) => {
      const test = await authApp(t, engine);
      const userId = await userIn(test, 'ann@example.com', ['acme'], ['viewer', 'developer']);
      const { access } = await tokensOf(test, 'ann@example.com');
      const reply = await me(test, access);
      assert.equal(reply.status, 200);
      const user = reply.body.user as Record<string, unknown>;
      assert.deepEqual(Object.keys(user).sort(), [
        'created_at',
        'email',
        'email_verified',
        'id',
        'name',
      ]);
      assert.equal(user.id, userId);
      assert.equal(user.email, 'ann@example.com');
      assert.equal(reply.body.tenant_id, 'acme');
      assert.deepEqual(reply.body.roles, ['developer', 'viewer']);
      assert.deepEqual(reply.body.permissions, [
        'events:read',
        'events:write',
        'metrics:read',
        'pipelines:manage',
        'projections:manage',
        'schemas:manage',
      ]);
      assert.ok(!JSON.stringify(reply.body).includes('argon2'));

      // Taking a role away shows at once, without a new token.
      await test.services.tenancy.memberships.grant('acme', userId, ['viewer']);
      const demoted = await me(test, access);
      assert.deepEqual(demoted.body.roles, ['viewer']);
      assert.deepEqual(demoted.body.permissions, ['events:read', 'metrics:read']);

      const key = await apiKeyFor(test.services, 'acme', 'admin');
      assertProblem(await me(test, key), 400, 'bad_request');
      assertProblem(await request(test, 'GET', '/auth/me'), 401, 'unauthorized');
    });

    it('changes a password and ends every other session of the user', async (t) => {
      const test = await authApp(t, engine);
      await userIn(test, 'ann@example.com', ['acme', 'globex']);
      const named = async (tenant_id: string) => {
        const reply = await login(test, { email: 'ann@example.com', tenant_id });
        assert.equal(reply.status, 200);
        return String(reply.body.access_token);
      };
      const caller = await named('acme');
      const elsewhere = await named('acme');
      const otherTenant = await named('globex');
      const change = (current_password: string, new_password: string) =>
        request(test, 'POST', '/auth/password', {
          token: caller,
          body: { current_password, new_password },
        });

      assertProblem(
        await change('wrong password', 'a new long password'),
        401,
        'invalid_credentials',
      );
      const weak = await change(PASSWORD, 'short');
      assertProblem(weak, 400, 'weak_password');
      assert.ok(Array.isArray(weak.body.errors) && weak.body.errors.length > 0);
      // Neither failure ended a session.
      assert.equal((await me(test, elsewhere)).status, 200);

      assert.equal((await change(PASSWORD, 'a new long password')).status, 204);
      assert.equal((await me(test, caller)).status, 200);
      assertProblem(await me(test, elsewhere), 401, 'session_revoked');
      assertProblem(await me(test, otherTenant), 401, 'session_revoked');
      assertProblem(
        await login(test, { email: 'ann@example.com', tenant_id: 'acme' }),
        401,
        'invalid_credentials',
      );
      const fresh = await login(test, {
        email: 'ann@example.com',
        password: 'a new long password',
        tenant_id: 'acme',
      });
      assert.equal(fresh.status, 200);
    });

    it('refuses registration unless auth.registration is open', async (t) => {
      const body = { email: 'new@example.com', password: 'a long enough password' };
      const disabled = await authApp(t, engine);
      assertProblem(
        await request(disabled, 'POST', '/auth/register', { body }),
        403,
        'registration_disabled',
      );
      assert.equal(await disabled.services.identity.users.findByEmail(body.email), undefined);
      const invite = await authApp(t, engine, { auth: { registration: 'invite' } });
      assertProblem(
        await request(invite, 'POST', '/auth/register', { body }),
        403,
        'invitation_required',
      );
      assert.equal(await invite.services.identity.users.findByEmail(body.email), undefined);
    });

    it('registers openly an account that holds no role anywhere', async (t) => {
      const test = await authApp(t, engine, { auth: { registration: 'open' } });
      await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
      const register = (body: object) => request(test, 'POST', '/auth/register', { body });
      const created = await register({
        email: ' New@Example.com',
        password: 'a long enough password',
        name: 'Nia',
      });
      assert.equal(created.status, 202);
      assert.deepEqual(created.body, { status: 'accepted', email: 'new@example.com' });
      const user = await test.services.identity.users.findByEmail('new@example.com');
      assert.equal(user?.name, 'Nia');
      assert.equal(user?.email_verified, false);
      assert.deepEqual(await createMembershipStore(test.db).listOfUser(String(user?.id)), []);
      const signIn = await request(test, 'POST', '/auth/login', {
        body: { email: 'new@example.com', password: 'a long enough password' },
      });
      assertProblem(signIn, 403, 'membership_required');
      const named = await request(test, 'POST', '/auth/login', {
        body: { email: 'new@example.com', password: 'a long enough password', tenant_id: 'acme' },
      });
      assertProblem(named, 401, 'invalid_credentials');

      // A taken address answers the same, and its account is left as it was.
      const again = await register({ email: 'NEW@example.com', password: 'another long password' });
      assert.deepEqual([again.status, again.body], [created.status, created.body]);
      const still = await request(test, 'POST', '/auth/login', {
        body: { email: 'new@example.com', password: 'another long password' },
      });
      assertProblem(still, 401, 'invalid_credentials');
      assertProblem(
        await register({ email: 'b@example.com', password: 'short' }),
        400,
        'weak_password',
      );
      assertProblem(
        await register({ email: 'not an email', password: 'a long enough password' }),
        400,
        'invalid_email',
      );
    });

    it('rejects malformed bodies with 400 validation_failed', async (t) => {
      const test = await authApp(t, engine, { auth: { registration: 'open' } });
      const cases: [string, object][] = [
        ['/auth/login', { password: PASSWORD }],
        ['/auth/login', { email: 'ann@example.com' }],
        ['/auth/login', { email: 'ann@example.com', password: PASSWORD, remember: true }],
        ['/auth/login', { email: 'ann@example.com', password: PASSWORD, tenant_id: 'Not Valid' }],
        ['/auth/login', { email: 'ann@example.com', password: '' }],
        ['/auth/refresh', {}],
        ['/auth/refresh', { refresh_token: 'tsr_x', tenant_id: 'acme' }],
        ['/auth/register', { email: 'new@example.com' }],
        ['/auth/register', { email: 'new@example.com', password: 'long enough pw', role: 'admin' }],
      ];
      for (const [url, body] of cases) {
        const reply = await request(test, 'POST', url, { body });
        assertProblem(reply, 400, 'validation_failed');
        assert.ok(Array.isArray(reply.body.errors), `${url} ${JSON.stringify(body)}`);
      }
      assert.equal(await test.services.identity.users.findByEmail('new@example.com'), undefined);

      await userIn(test, 'ann@example.com', ['acme']);
      const { access } = await tokensOf(test, 'ann@example.com');
      const password = await request(test, 'POST', '/auth/password', {
        token: access,
        body: { new_password: 'a new long password' },
      });
      assertProblem(password, 400, 'validation_failed');
    });
  });
}
