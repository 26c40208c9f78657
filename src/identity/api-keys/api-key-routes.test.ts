import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import type { Engine } from '../../storage/database.ts';
import { openDatabase } from '../../storage/open-database.ts';
import { hashPassword } from '../login/passwords.ts';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How a request authenticates: a user's access token or an API key, sent either way. */
type Credential = { bearer: string } | { apiKey: string };

const PASSWORD = 'correct horse battery';

async function keysApp(t: TestContext, engine: Engine): Promise<TestApp> {
  const test = await buildTestApp({}, engine, { actAs: false });
  t.after(() => test.close());
  return test;
}

async function call(
  test: TestApp,
  as: Credential,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: object,
): Promise<Reply> {
  const response = await test.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: 'bearer' in as ? { authorization: `Bearer ${as.bearer}` } : { 'x-api-key': as.apiKey },
    ...(body === undefined ? {} : { payload: body }),
  });
  return {
    status: response.statusCode,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  };
}

/** Logs in a new user holding `role` in `tenant` (created when missing); returns its token. */
async function userToken(test: TestApp, tenant: string, role: string): Promise<Credential> {
  const { services } = test;
  if (!(await services.tenancy.tenants.get(tenant))) {
    await services.tenancy.tenants.create({ id: tenant, name: tenant, plan: 'free' });
  }
  const email = `${role}@${tenant}.example`;
  const user = await services.identity.users.createUser({
    email,
    password_hash: await hashPassword(PASSWORD),
  });
  await services.tenancy.memberships.grant(tenant, user.id, [role]);
  const login = await test.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  assert.equal(login.statusCode, 200, login.body);
  return { bearer: String(login.json<{ access_token: string }>().access_token) };
}

async function createKey(test: TestApp, as: Credential, body: object): Promise<Reply> {
  return call(test, as, 'POST', '/auth/api-keys', body);
}

const listKeys = async (test: TestApp, as: Credential) =>
  (await call(test, as, 'GET', '/auth/api-keys')).body.api_keys as Record<string, unknown>[];

const appendOne = (test: TestApp, as: Credential, entity: string) =>
  call(test, as, 'POST', `/entities/${entity}/events`, {
    events: [{ event_type: 'Noted', payload: { entity } }],
  });

function assertProblem(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.code, code);
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

for (const engine of testEngines()) {
  describe(`API key routes (${engine})`, () => {
    it('creates a key shown once, lists it without secrets, and records its use', async (t) => {
      const test = await keysApp(t, engine);
      const admin = await userToken(test, 'acme', 'admin');
      const me = await call(test, admin, 'GET', '/auth/me');
      const created = await createKey(test, admin, { name: 'ci', role: 'service' });
      assert.equal(created.status, 201);
      const secret = String(created.body.key);
      assert.match(secret, /^tsk_[A-Za-z0-9_-]{20,}$/);
      assert.equal(created.body.name, 'ci');
      assert.equal(created.body.role, 'service');
      assert.equal(created.body.tenant_id, 'acme');
      assert.equal(created.body.created_by, (me.body.user as { id: string }).id);
      assert.equal(created.body.prefix, secret.slice(0, 10));
      assert.equal(created.body.expires_at, null);
      assert.equal(created.body.last_used_at, null);
      assert.equal(created.body.revoked_at, null);

      const [listed, ...others] = await listKeys(test, admin);
      assert.equal(others.length, 0);
      assert.ok(listed);
      assert.equal(listed.id, created.body.id);
      assert.equal(listed.prefix, created.body.prefix);
      assert.ok(!('key' in listed) && !('secret_hash' in listed));
      const listing = JSON.stringify(listed);
      assert.ok(!listing.includes(secret) && !listing.includes(secret.slice(10)), listing);

      const key = { apiKey: secret };
      assert.equal((await appendOne(test, key, 'by-header')).status, 201);
      const asBearer = await call(test, { bearer: secret }, 'GET', '/entities/by-header/events');
      assert.equal(asBearer.status, 200);
      assert.deepEqual(
        (asBearer.body.events as { payload: unknown }[]).map((event) => event.payload),
        [{ entity: 'by-header' }],
      );
      const [used] = await listKeys(test, admin);
      assert.equal(typeof used?.last_used_at, 'string');
      // The key holds the service role, which cannot manage keys.
      assertProblem(await call(test, key, 'GET', '/auth/api-keys'), 403, 'permission_denied');
    });

    it('lets an admin key manage keys, created by nobody, and pages the listing', async (t) => {
      const test = await keysApp(t, engine);
      const adminKey = { apiKey: await apiKeyFor(test.services, 'acme', 'admin') };
      const created = await createKey(test, adminKey, { name: 'robot', role: 'viewer' });
      assert.equal(created.status, 201);
      assert.equal(created.body.created_by, null);
      const first = await call(test, adminKey, 'GET', '/auth/api-keys?limit=1');
      assert.equal((first.body.api_keys as unknown[]).length, 1);
      assert.equal(typeof first.body.next_cursor, 'string');
      const rest = await call(
        test,
        adminKey,
        'GET',
        `/auth/api-keys?limit=1&after=${String(first.body.next_cursor)}`,
      );
      assert.equal((rest.body.api_keys as unknown[]).length, 1);
      assert.notEqual(
        (rest.body.api_keys as { id: string }[])[0]?.id,
        (first.body.api_keys as { id: string }[])[0]?.id,
      );
    });

    it('revokes a key with 204; it is refused at once and cannot be revoked twice', async (t) => {
      const test = await keysApp(t, engine);
      const admin = await userToken(test, 'acme', 'admin');
      const created = await createKey(test, admin, { name: 'ci', role: 'operator' });
      const key = { apiKey: String(created.body.key) };
      assert.equal((await appendOne(test, key, 'e')).status, 201);
      const revoked = await call(test, admin, 'DELETE', `/auth/api-keys/${created.body.id}`);
      assert.equal(revoked.status, 204);
      assertProblem(await appendOne(test, key, 'e'), 401, 'api_key_revoked');
      assertProblem(
        await call(test, { bearer: String(created.body.key) }, 'GET', '/stats'),
        401,
        'api_key_revoked',
      );
      const [listed] = await listKeys(test, admin);
      assert.equal(typeof listed?.revoked_at, 'string');
      assertProblem(
        await call(test, admin, 'DELETE', `/auth/api-keys/${created.body.id}`),
        404,
        'api_key_not_found',
      );
      assertProblem(
        await call(test, admin, 'DELETE', '/auth/api-keys/no-such-key'),
        404,
        'api_key_not_found',
      );
    });

    it("never finds another tenant's key: 404, and the key keeps working", async (t) => {
      const test = await keysApp(t, engine);
      const acme = await userToken(test, 'acme', 'admin');
      const globex = await userToken(test, 'globex', 'admin');
      const theirs = await createKey(test, globex, { name: 'globex ci', role: 'service' });
      const theirKey = { apiKey: String(theirs.body.key) };
      assertProblem(
        await call(test, acme, 'DELETE', `/auth/api-keys/${theirs.body.id}`),
        404,
        'api_key_not_found',
      );
      assert.equal((await appendOne(test, theirKey, 'still-works')).status, 201);
      const [listed] = await listKeys(test, globex);
      assert.equal(listed?.revoked_at, null);
    });

    it('refuses an expired key with 401 api_key_expired', async (t) => {
      const test = await keysApp(t, engine);
      const admin = await userToken(test, 'acme', 'admin');
      const expiresAt = inAnHour();
      const created = await createKey(test, admin, {
        name: 'short-lived',
        role: 'viewer',
        expires_at: expiresAt,
      });
      assert.equal(created.status, 201);
      assert.equal(Date.parse(String(created.body.expires_at)), Date.parse(expiresAt));
      const key = { apiKey: String(created.body.key) };
      assert.equal((await call(test, key, 'GET', '/stats')).status, 200);
      // Changed behind the app's back, through another connection as the CLI or another
      // node would: PostgreSQL announces it (NOTIFY), SQLite's data version moves.
      const outside = await openDatabase(test.config.storage);
      try {
        await outside.kysely
          .updateTable('api_keys')
          .set({ expires_ms: Date.now() - 1000 })
          .where('id', '=', String(created.body.id))
          .execute();
      } finally {
        await outside.close();
      }
      let expired = await call(test, key, 'GET', '/stats');
      await until(async () => {
        expired = await call(test, key, 'GET', '/stats');
        return expired.status !== 200;
      }, 'the expiry is seen');
      assertProblem(expired, 401, 'api_key_expired');
    });

    it('rejects an expiry in the past or malformed, creating nothing', async (t) => {
      const test = await keysApp(t, engine);
      const admin = await userToken(test, 'acme', 'admin');
      const past = await createKey(test, admin, {
        name: 'late',
        role: 'viewer',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      });
      assertProblem(past, 400, 'validation_failed');
      assert.deepEqual(past.body.errors, [
        { path: '/expires_at', message: 'must be a time in the future' },
      ]);
      for (const body of [
        { name: 'bad', role: 'viewer', expires_at: 'tomorrow' },
        { name: 'bad', role: 'Root!' },
        { name: '', role: 'viewer' },
        { role: 'viewer' },
        { name: 'bad', role: 'viewer', tenant_id: 'globex' },
      ]) {
        assertProblem(await createKey(test, admin, body), 400, 'validation_failed');
      }
      // Shaped like a role, but neither built in nor one of the tenant's custom roles.
      assertProblem(
        await createKey(test, admin, { name: 'bad', role: 'root' }),
        400,
        'invalid_roles',
      );
      assert.deepEqual(await listKeys(test, admin), []);
    });

    it('lets only holders of api_keys:manage create keys, never beyond their own roles', async (t) => {
      const test = await keysApp(t, engine);
      // Of the built-in roles only admin holds api_keys:manage, and admin holds every
      // tenant permission: a developer is stopped by the permission before delegation.
      const developer = await userToken(test, 'acme', 'developer');
      for (const role of ['admin', 'viewer']) {
        const denied = await createKey(test, developer, { name: 'mine', role });
        assertProblem(denied, 403, 'permission_denied');
        assert.equal(denied.body.permission, 'api_keys:manage');
      }
      const viewer = await userToken(test, 'acme', 'viewer');
      for (const [method, url, body] of [
        ['POST', '/auth/api-keys', { name: 'mine', role: 'guest' }],
        ['GET', '/auth/api-keys', undefined],
        ['DELETE', '/auth/api-keys/anything', undefined],
      ] as const) {
        const denied = await call(test, viewer, method, url, body);
        assertProblem(denied, 403, 'permission_denied');
        assert.equal(denied.body.permission, 'api_keys:manage', `${method} ${url}`);
      }
      const admin = await userToken(test, 'acme', 'admin');
      assert.deepEqual(await listKeys(test, admin), []);
      // An admin may hand out every role, admin included.
      assert.equal((await createKey(test, admin, { name: 'root', role: 'admin' })).status, 201);
    });

    it('refuses a key of a suspended tenant with 403 tenant_suspended', async (t) => {
      const test = await keysApp(t, engine);
      const key = { apiKey: await apiKeyFor(test.services, 'acme', 'admin') };
      assert.equal((await call(test, key, 'GET', '/auth/api-keys')).status, 200);
      await test.services.tenancy.tenants.setStatus('acme', 'suspended');
      assertProblem(await call(test, key, 'GET', '/auth/api-keys'), 403, 'tenant_suspended');
      assertProblem(await appendOne(test, key, 'e'), 403, 'tenant_suspended');
      await test.services.tenancy.tenants.setStatus('acme', 'active');
      assert.equal((await appendOne(test, key, 'e')).status, 201);
    });

    it("sees only its own tenant's keys and events", async (t) => {
      const test = await keysApp(t, engine);
      const acme = await userToken(test, 'acme', 'admin');
      const acmeKey = await createKey(test, acme, { name: 'acme ci', role: 'service' });
      assert.equal(
        (await appendOne(test, { apiKey: String(acmeKey.body.key) }, 'secret')).status,
        201,
      );
      const globexKey = { apiKey: await apiKeyFor(test.services, 'globex', 'admin') };
      const listed = await listKeys(test, globexKey);
      assert.deepEqual(
        listed.map((key) => key.tenant_id),
        ['globex'],
      );
      assert.ok(!listed.some((key) => key.id === acmeKey.body.id));
      const read = await call(test, globexKey, 'GET', '/entities/secret/events');
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.events, []);
      assert.equal((await call(test, globexKey, 'GET', '/stats')).body.events, 0);
      // The key works in its own tenant, whatever the request says about tenants.
      const created = await createKey(test, globexKey, { name: 'globex ci', role: 'viewer' });
      assert.equal(created.body.tenant_id, 'globex');
      assert.equal((await listKeys(test, acme)).length, 1);
    });
  });
}
