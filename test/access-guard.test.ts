import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it, type TestContext } from 'node:test';
import Fastify from 'fastify';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import type { Permission } from '../src/access/permissions.ts';
import type { StoredEvent } from '../src/events/model.ts';
import { installGuard } from '../src/identity/guard/guard.ts';
import { hashPassword } from '../src/identity/login/passwords.ts';
import { createAccessTokens } from '../src/identity/tokens/access-token.ts';
import { buildTestApp, type TestApp } from './helpers/app.ts';
import { apiKeyFor } from './helpers/auth.ts';
import { openSse } from './helpers/sse-client.ts';
import { testEngines } from './helpers/test-database.ts';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
}

interface RouteCase {
  readonly method: 'GET' | 'POST';
  /** Under /api/v1, with the seeded entity and event. */
  readonly url: string;
  /** The route as /openapi.json names it, to prove the table misses none. */
  readonly spec: string;
  readonly permission: Permission;
  readonly body?: object;
  /** A successful request never ends (SSE): only refusals are injected. */
  readonly endless?: boolean;
}

const ENTITY = 'order-1';
const EVENT_ID = '00000000-0000-4000-8000-0000000000a1';
const PASSWORD = 'correct horse battery';

const ROUTES: readonly RouteCase[] = [
  {
    method: 'POST',
    url: `/entities/${ENTITY}/events`,
    spec: 'post /api/v1/entities/{entity_id}/events',
    permission: 'events:write',
    body: { events: [{ event_type: 'Noted', payload: {} }] },
  },
  {
    method: 'POST',
    url: '/events',
    spec: 'post /api/v1/events',
    permission: 'events:write',
    body: { entity_id: ENTITY, event_type: 'Noted', payload: {} },
  },
  {
    method: 'GET',
    url: `/entities/${ENTITY}/events`,
    spec: 'get /api/v1/entities/{entity_id}/events',
    permission: 'events:read',
  },
  {
    method: 'GET',
    url: `/events/${EVENT_ID}`,
    spec: 'get /api/v1/events/{id}',
    permission: 'events:read',
  },
  { method: 'GET', url: '/entities', spec: 'get /api/v1/entities', permission: 'events:read' },
  {
    method: 'GET',
    url: '/events/query',
    spec: 'get /api/v1/events/query',
    permission: 'events:read',
  },
  {
    method: 'GET',
    url: `/entities/${ENTITY}/state`,
    spec: 'get /api/v1/entities/{entity_id}/state',
    permission: 'events:read',
  },
  {
    method: 'POST',
    url: '/snapshots',
    spec: 'post /api/v1/snapshots',
    permission: 'events:write',
    body: { entity_id: ENTITY },
  },
  {
    method: 'GET',
    url: `/snapshots?entity_id=${ENTITY}`,
    spec: 'get /api/v1/snapshots',
    permission: 'events:read',
  },
  {
    method: 'GET',
    url: `/snapshots/${ENTITY}/latest`,
    spec: 'get /api/v1/snapshots/{entity_id}/latest',
    permission: 'events:read',
  },
  { method: 'GET', url: '/stats', spec: 'get /api/v1/stats', permission: 'events:read' },
  {
    method: 'GET',
    url: '/events/subscribe?from_position=0',
    spec: 'get /api/v1/events/subscribe',
    permission: 'events:read',
    endless: true,
  },
  {
    method: 'POST',
    url: '/subscriptions/tickets',
    spec: 'post /api/v1/subscriptions/tickets',
    permission: 'events:read',
  },
  // Without `Upgrade: websocket` the route answers 400 once the caller may read.
  {
    method: 'GET',
    url: '/events/stream?from_position=0',
    spec: 'get /api/v1/events/stream',
    permission: 'events:read',
  },
];

/**
 * Tenant administration routes added with issue 15 (invitations): the guard lets
 * any authenticated caller through and the service decides from the principal, so
 * they are listed here with the permission the service demands.
 */
const TENANT_ROUTES: readonly (Omit<RouteCase, 'method'> & { method: 'GET' | 'DELETE' })[] = [
  {
    method: 'GET',
    url: '/tenants/acme/invitations',
    spec: 'get /api/v1/tenants/{id}/invitations',
    permission: 'members:manage',
  },
  {
    method: 'DELETE',
    url: '/tenants/acme/invitations/00000000-0000-4000-8000-00000000ffff',
    spec: 'delete /api/v1/tenants/{id}/invitations/{invitation_id}',
    permission: 'members:manage',
  },
];

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Fixture {
  readonly test: TestApp;
  /** `http://127.0.0.1:<port>/api/v1` */
  readonly baseUrl: string;
  readonly keys: { guest: string; viewer: string; admin: string; otherAdmin: string };
  /** An access token of an acme admin, from a real login. */
  readonly userToken: string;
}

/**
 * The suite sends hundreds of requests with bad credentials from one IP, which the
 * rate limits throttle by default (src/protection/rate-limits/rate-limits.test.ts tests that).
 */
const MANY_FAILURES = { rate_limits: { ip_per_minute: 100_000, ip_burst: 100_000 } };

async function setUp(engine: Parameters<typeof buildTestApp>[1]): Promise<Fixture> {
  const test = await buildTestApp(MANY_FAILURES, engine, { actAs: false });
  const { services } = test;
  const keys = {
    guest: await apiKeyFor(services, 'acme', 'guest'),
    viewer: await apiKeyFor(services, 'acme', 'viewer'),
    admin: await apiKeyFor(services, 'acme', 'admin'),
    otherAdmin: await apiKeyFor(services, 'globex', 'admin'),
  };
  const user = await services.identity.users.createUser({
    email: 'ann@acme.example',
    password_hash: await hashPassword(PASSWORD),
  });
  await services.tenancy.memberships.grant('acme', user.id, ['admin']);
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const login = await test.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'ann@acme.example', password: PASSWORD },
  });
  assert.equal(login.statusCode, 200, login.body);
  const fixture = {
    test,
    baseUrl: `${address}/api/v1`,
    keys,
    userToken: login.json<{ access_token: string }>().access_token,
  };
  const seeded = await send(fixture, 'POST', `/entities/${ENTITY}/events`, {
    headers: { 'x-api-key': keys.admin },
    body: { events: [{ id: EVENT_ID, event_type: 'Placed', payload: { secret: 'acme' } }] },
  });
  assert.equal(seeded.status, 201);
  const snapshot = await send(fixture, 'POST', '/snapshots', {
    headers: { 'x-api-key': keys.admin },
    body: { entity_id: ENTITY },
  });
  assert.equal(snapshot.status, 201);
  return fixture;
}

async function send(
  fixture: Pick<Fixture, 'test'>,
  method: 'GET' | 'POST' | 'HEAD' | 'DELETE',
  url: string,
  options: { headers?: Record<string, string>; body?: object } = {},
): Promise<Reply> {
  const response = await fixture.test.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { payload: options.body }),
  });
  return {
    status: response.statusCode,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

const sendRoute = (fixture: Fixture, route: RouteCase, headers: Record<string, string>) =>
  send(fixture, route.method, route.url, {
    headers,
    ...(route.body === undefined ? {} : { body: route.body }),
  });

function assertProblem(reply: Reply, status: number, code: string, what: string): void {
  assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.code, code, what);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, what);
}

const eventCount = async (fixture: Fixture, key: string) =>
  (await send(fixture, 'GET', '/stats', { headers: { 'x-api-key': key } })).body.events;

/** The refusal of a WebSocket upgrade: status and problem body, read before any stream. */
async function refusedUpgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const socket = new WebSocket(url, { headers });
  const [, response] = (await Promise.race([
    once(socket, 'unexpected-response'),
    once(socket, 'open').then(() => {
      socket.terminate();
      throw new Error('the upgrade was accepted');
    }),
  ])) as [unknown, IncomingMessage];
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += String(chunk);
  socket.terminate();
  return { status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> };
}

/** The first event a WebSocket subscription delivers, after `trigger` runs once it is open. */
async function firstWsEvent(
  t: TestContext,
  url: string,
  headers: Record<string, string>,
  trigger: () => Promise<unknown>,
): Promise<StoredEvent> {
  const socket = new WebSocket(url, { headers });
  t.after(() => socket.terminate());
  const first = new Promise<StoredEvent>((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; event?: StoredEvent };
      if (message.type === 'event' && message.event) resolve(message.event);
    });
  });
  await once(socket, 'open');
  await trigger();
  return first;
}

for (const engine of testEngines()) {
  describe(`the access guard on every event route (${engine})`, () => {
    let fixture: Fixture;
    before(async () => {
      fixture = await setUp(engine);
    });
    after(() => fixture.test.close());

    it('covers every event route the API documents', async () => {
      const spec = (await fixture.test.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, { tags?: string[] }>>;
      }>();
      const documented: string[] = [];
      for (const [path, operations] of Object.entries(spec.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const tags = operation.tags ?? [];
          if (tags.includes('events') || tags.includes('state')) {
            documented.push(`${method} ${path}`);
          }
        }
      }
      assert.deepEqual(documented.sort(), ROUTES.map((route) => route.spec).sort());
    });

    it('guards the tenant invitation routes with members:manage in that tenant', async () => {
      const spec = (await fixture.test.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, unknown>>;
      }>();
      const documented = Object.entries(spec.paths)
        .filter(([path]) => path.startsWith('/api/v1/tenants/{id}/invitations'))
        .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m} ${path}`));
      assert.deepEqual(documented.sort(), TENANT_ROUTES.map((route) => route.spec).sort());
      const { guest, viewer, admin, otherAdmin } = fixture.keys;
      for (const route of TENANT_ROUTES) {
        const as = (key?: string) =>
          send(fixture, route.method, route.url, { headers: key ? { 'x-api-key': key } : {} });
        assertProblem(await as(), 401, 'unauthorized', route.spec);
        // Too weak in acme, or an admin of another tenant: refused before any lookup.
        for (const key of [guest, viewer, otherAdmin]) {
          const reply = await as(key);
          assertProblem(reply, 403, 'permission_denied', route.spec);
          assert.equal(reply.body.permission, route.permission, route.spec);
        }
        const allowed = await as(admin);
        if (route.method === 'GET') assert.equal(allowed.status, 200, route.spec);
        else assertProblem(allowed, 404, 'invitation_not_found', route.spec);
      }
    });

    it('answers 401 unauthorized with WWW-Authenticate to a request without credentials', async () => {
      for (const route of ROUTES) {
        const reply = await sendRoute(fixture, route, {});
        assertProblem(reply, 401, 'unauthorized', route.spec);
        assert.equal(reply.headers['www-authenticate'], 'Bearer realm="tessera"', route.spec);
        // A stranger learns nothing about the route's schema either.
        const invalid = await send(fixture, route.method, route.url, {
          ...(route.method === 'POST' ? { body: { unknown: true } } : {}),
        });
        assertProblem(invalid, 401, 'unauthorized', `${route.spec} with an invalid request`);
        if (route.method === 'GET' && !route.endless) {
          assert.equal((await send(fixture, 'HEAD', route.url)).status, 401, `HEAD ${route.url}`);
        }
      }
    });

    it('answers 401 token_malformed to a garbage bearer and api_key_invalid to an unknown key', async () => {
      const unknownKey = `tsk_${'x'.repeat(43)}`;
      for (const route of ROUTES) {
        for (const [headers, code] of [
          [{ authorization: 'Bearer not-a-token' }, 'token_malformed'],
          [{ authorization: 'Bearer a.b.c' }, 'token_malformed'],
          [{ 'x-api-key': unknownKey }, 'api_key_invalid'],
          [{ authorization: `Bearer ${unknownKey}` }, 'api_key_invalid'],
        ] as const) {
          const reply = await sendRoute(fixture, route, headers);
          assertProblem(reply, 401, code, `${route.spec} ${JSON.stringify(headers)}`);
          assert.match(String(reply.headers['www-authenticate']), /^Bearer realm="tessera"/);
        }
      }
    });

    it('answers 403 permission_denied naming the permission to a guest key', async () => {
      for (const route of ROUTES) {
        const reply = await sendRoute(fixture, route, { 'x-api-key': fixture.keys.guest });
        assertProblem(reply, 403, 'permission_denied', route.spec);
        assert.equal(reply.body.permission, route.permission, route.spec);
      }
    });

    it('lets a viewer key read but not write', async () => {
      const before = await eventCount(fixture, fixture.keys.admin);
      for (const route of ROUTES) {
        if (route.endless) continue;
        const reply = await sendRoute(fixture, route, { 'x-api-key': fixture.keys.viewer });
        if (route.permission === 'events:write') {
          assertProblem(reply, 403, 'permission_denied', route.spec);
          assert.equal(reply.body.permission, 'events:write');
        } else {
          assert.ok(
            reply.status < 500 && reply.status !== 401 && reply.status !== 403,
            `${route.spec}: ${reply.status} ${JSON.stringify(reply.body)}`,
          );
        }
      }
      assert.equal(await eventCount(fixture, fixture.keys.admin), before);
      const sse = await openSse(`${fixture.baseUrl}/events/subscribe?from_position=0`, {
        'x-api-key': fixture.keys.viewer,
      });
      try {
        assert.equal(sse.status, 200);
        const [first] = await sse.events(1);
        assert.equal(first?.id, EVENT_ID);
      } finally {
        sse.close();
      }
    });

    it('refuses a subscription before any stream starts', async (t) => {
      for (const [headers, status, code] of [
        [{}, 401, 'unauthorized'],
        [{ 'x-api-key': fixture.keys.guest }, 403, 'permission_denied'],
      ] as const) {
        const sse = await openSse(`${fixture.baseUrl}/events/subscribe?from_position=0`, headers);
        t.after(() => sse.close());
        assert.equal(sse.status, status);
        assert.match(String(sse.headers['content-type']), /^application\/problem\+json/);
        assert.equal(await sse.next(), undefined);
        const ws = await refusedUpgrade(
          `${fixture.baseUrl.replace(/^http/, 'ws')}/events/stream?from_position=0`,
          headers,
        );
        assert.equal(ws.status, status);
        assert.equal(ws.body.code, code);
      }
    });

    it("never shows another tenant's events, by any route", async (t) => {
      const theirs = { 'x-api-key': fixture.keys.otherAdmin };
      const get = (url: string) => send(fixture, 'GET', url, { headers: theirs });
      assert.deepEqual((await get(`/entities/${ENTITY}/events`)).body.events, []);
      assert.deepEqual((await get('/events/query')).body.events, []);
      assert.deepEqual((await get(`/events/query?entity_id=${ENTITY}`)).body.events, []);
      assertProblem(await get(`/events/${EVENT_ID}`), 404, 'event_not_found', 'get by id');
      assert.deepEqual((await get('/entities')).body.entities, []);
      assertProblem(await get(`/entities/${ENTITY}/state`), 404, 'entity_not_found', 'state');
      assert.deepEqual((await get('/stats')).body, {
        events: 0,
        entities: 0,
        event_types: 0,
        bytes: 0,
      });
      assert.deepEqual((await get(`/snapshots?entity_id=${ENTITY}`)).body.snapshots, []);
      assertProblem(await get(`/snapshots/${ENTITY}/latest`), 404, 'snapshot_not_found', 'latest');
      const snapshot = await send(fixture, 'POST', '/snapshots', {
        headers: theirs,
        body: { entity_id: ENTITY },
      });
      assertProblem(snapshot, 404, 'entity_not_found', 'snapshot');
      // Headers naming a tenant change nothing: the tenant is the credential's.
      const spoofed = await send(fixture, 'GET', `/entities/${ENTITY}/events`, {
        headers: { ...theirs, 'x-tenant-id': 'acme' },
      });
      assert.deepEqual(spoofed.body.events, []);

      // Live reads from position 0 skip acme's events: the first one delivered is globex's own.
      const appendOwn = (entity: string) =>
        send(fixture, 'POST', `/entities/${entity}/events`, {
          headers: theirs,
          body: { events: [{ event_type: 'Own', payload: { tenant: 'globex' } }] },
        });
      const sse = await openSse(`${fixture.baseUrl}/events/subscribe?from_position=0`, theirs);
      t.after(() => sse.close());
      assert.equal(sse.status, 200);
      assert.equal((await appendOwn('globex-sse')).status, 201);
      const [viaSse] = await sse.events(1);
      assert.deepEqual([viaSse?.tenant_id, viaSse?.entity_id], ['globex', 'globex-sse']);
      const viaWs = await firstWsEvent(
        t,
        `${fixture.baseUrl.replace(/^http/, 'ws')}/events/stream?from_position=0`,
        theirs,
        () => appendOwn('globex-ws'),
      );
      // The WebSocket replays from 0 too, so globex's SSE event may come first; never acme's.
      assert.equal(viaWs.tenant_id, 'globex');
      assert.notEqual(viaWs.id, EVENT_ID);

      // And acme still sees its own event, and only that.
      const mine = await send(fixture, 'GET', '/events/query', {
        headers: { 'x-api-key': fixture.keys.admin },
      });
      assert.deepEqual(
        (mine.body.events as StoredEvent[]).map((event) => event.tenant_id),
        ['acme'],
      );
    });
  });

  describe(`access token attacks over HTTP (${engine})`, () => {
    let fixture: Fixture;
    let claims: { sub: string; tid: string; roles: string[]; sid: string; email_verified: boolean };
    let kid: string;
    before(async () => {
      fixture = await setUp(engine);
      const decoded = decodeJwt(fixture.userToken);
      claims = {
        sub: String(decoded.sub),
        tid: String(decoded.tid),
        roles: decoded.roles as string[],
        sid: String(decoded.sid),
        email_verified: decoded.email_verified === true,
      };
      kid = String(decodeProtectedHeader(fixture.userToken).kid);
    });
    after(() => fixture.test.close());

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const tokensWith = (options: { now?: () => number; issuer?: string; audience?: string }) =>
      createAccessTokens({
        keys: fixture.test.services.identity.keys,
        issuer: options.issuer ?? fixture.test.services.identity.issuer,
        audience: options.audience ?? fixture.test.config.auth.audience,
        ttlSeconds: 60,
        ...(options.now === undefined ? {} : { now: options.now }),
      });

    async function assertRefused(token: string, code: string, what: string): Promise<void> {
      for (const route of ROUTES) {
        const reply = await sendRoute(fixture, route, bearer(token));
        assertProblem(reply, 401, code, `${what}: ${route.spec}`);
        assert.equal(
          reply.headers['www-authenticate'],
          'Bearer realm="tessera", error="invalid_token"',
          what,
        );
      }
    }

    it('accepts the genuine token', async () => {
      const reply = await send(fixture, 'GET', '/stats', { headers: bearer(fixture.userToken) });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.events, 1);
    });

    it('takes nothing but API keys in X-API-Key, not even a genuine token', async () => {
      const reply = await send(fixture, 'GET', '/stats', {
        headers: { 'x-api-key': fixture.userToken },
      });
      assertProblem(reply, 401, 'api_key_invalid', 'token in X-API-Key');
    });

    it('refuses an expired token of a live session with token_expired', async () => {
      const expired = await tokensWith({ now: () => Date.now() - 3_600_000 }).issue(claims);
      await assertRefused(expired.token, 'token_expired', 'expired');
    });

    it('refuses alg none and HS256 (key confusion) with token_algorithm_rejected', async () => {
      const payload = decodeJwt(fixture.userToken);
      const none = `${b64url({ alg: 'none', typ: 'at+jwt', kid })}.${b64url(payload)}.`;
      await assertRefused(none, 'token_algorithm_rejected', 'alg none');
      const [jwk] = await fixture.test.services.identity.keys.publicKeys();
      assert.ok(jwk);
      for (const secret of [
        Buffer.from(jwk.x, 'base64url'),
        new TextEncoder().encode(JSON.stringify(jwk)),
      ]) {
        const hs256 = await new SignJWT(payload)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
          .sign(secret);
        await assertRefused(hs256, 'token_algorithm_rejected', 'HS256');
      }
    });

    it('refuses a token re-signed by a stranger or edited to name another tenant', async () => {
      const payload = decodeJwt(fixture.userToken);
      const { privateKey } = await generateKeyPair('EdDSA');
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
        .sign(privateKey);
      await assertRefused(forged, 'token_signature_invalid', 'foreign key');
      const [header, , signature] = fixture.userToken.split('.');
      const edited = `${header}.${b64url({ ...payload, tid: 'globex' })}.${signature}`;
      await assertRefused(edited, 'token_signature_invalid', 'edited tid');
    });

    it('refuses our own signature on a token for another audience, issuer or type', async () => {
      const otherAudience = await tokensWith({ audience: 'someone-else' }).issue(claims);
      await assertRefused(otherAudience.token, 'token_audience_invalid', 'audience');
      const otherIssuer = await tokensWith({ issuer: 'https://evil.example' }).issue(claims);
      await assertRefused(otherIssuer.token, 'token_issuer_invalid', 'issuer');
      // RFC 8725 §3.11: an ID token or any other JWT of ours is no access token.
      const { privateKey } = await fixture.test.services.identity.keys.signingKey();
      const untyped = await new SignJWT(decodeJwt(fixture.userToken))
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
        .sign(privateKey);
      await assertRefused(untyped, 'token_malformed', 'typ JWT');
    });
  });
}

describe('installGuard', () => {
  const guardDeps = async (t: TestContext) => {
    const test = await buildTestApp({}, 'sqlite', { actAs: false });
    t.after(() => test.close());
    return test.services.identity.guard;
  };

  it('fails the build when a route in its scope declares no access', async (t) => {
    const deps = await guardDeps(t);
    const nested = Fastify();
    t.after(() => nested.close());
    installGuard(nested, deps);
    await assert.rejects(
      async () => {
        await nested.register(async (scope) => {
          scope.get('/forgotten', async () => 'open to all');
        });
        await nested.ready();
      },
      { message: 'route GET /forgotten declares no access (config.access)' },
    );

    const direct = Fastify();
    t.after(() => direct.close());
    installGuard(direct, deps);
    await assert.rejects(
      async () => {
        direct.post('/also-forgotten', async () => 'open to all');
        await direct.ready();
      },
      { message: /declares no access/ },
    );
  });

  it('builds when every route declares its access', async (t) => {
    const app = Fastify();
    t.after(() => app.close());
    installGuard(app, await guardDeps(t));
    await app.register(async (scope) => {
      scope.get('/open', { config: { access: 'public' } }, async () => ({ ok: true }));
      scope.get('/guarded', { config: { access: 'events:read' } }, async () => ({ ok: true }));
    });
    await app.ready();
    const open = await app.inject({ url: '/open' });
    assert.equal(open.statusCode, 200);
    assert.deepEqual(open.json(), { ok: true });
    assert.notEqual((await app.inject({ url: '/guarded' })).statusCode, 200);
  });
});
