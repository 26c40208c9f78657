import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp, type DeepPartial, type TestApp } from '../../../test/helpers/app.ts';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import type { Config } from '../../config/schema.ts';
import { hashPassword } from '../../identity/login/passwords.ts';

type RateLimitConfig = Partial<Config['rate_limits']>;

/**
 * Refills one token a minute on a clock the test holds: the counts and headers are
 * exact whatever the machine's speed.
 */
async function appWith(
  t: TestContext,
  limits: RateLimitConfig,
  overrides: DeepPartial<Config> = {},
): Promise<TestApp & { advance(ms: number): void }> {
  let now = 1_000_000;
  const test = await buildTestApp(
    { ...overrides, rate_limits: { ip_per_minute: 1, ...limits } },
    'sqlite',
    { actAs: false, rateLimits: { now: () => now } },
  );
  t.after(() => test.close());
  const advance = (ms: number) => {
    now += ms;
  };
  return Object.assign(test, { advance });
}

interface Sent {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
}

async function send(
  test: TestApp,
  method: string,
  url: string,
  options: { key?: string; ip?: string; body?: object; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const reply = await test.app.inject({
    method: method as 'GET',
    url,
    remoteAddress: options.ip ?? '192.0.2.1',
    headers: { ...(options.key ? { 'x-api-key': options.key } : {}), ...options.headers },
    ...(options.body ? { payload: options.body } : {}),
  });
  return {
    status: reply.statusCode,
    headers: reply.headers,
    body: /json/.test(String(reply.headers['content-type']))
      ? (JSON.parse(reply.body) as Record<string, unknown>)
      : {},
  };
}

const limitHeaders = (sent: Sent) => [
  sent.headers['x-ratelimit-limit'],
  sent.headers['x-ratelimit-remaining'],
  sent.headers['x-ratelimit-reset'],
];

/** A public route that never succeeds (the token is not one), so only the limiter varies. */
const refresh = (test: TestApp, ip?: string) =>
  send(test, 'POST', '/api/v1/auth/refresh', {
    body: { refresh_token: 'not-a-token' },
    ...(ip ? { ip } : {}),
  });

describe('rate limits', () => {
  it('report the bucket in exact headers, and refuse with 429 rate_limited and Retry-After', async (t) => {
    const test = await appWith(t, { ip_per_minute: 1, ip_burst: 3 });
    // Limit: the burst. Remaining: whole tokens left. Reset: seconds until full again.
    assert.deepEqual(limitHeaders(await refresh(test)), ['3', '2', '60']);
    assert.deepEqual(limitHeaders(await refresh(test)), ['3', '1', '120']);
    test.advance(15_000); // a quarter token back
    assert.deepEqual(limitHeaders(await refresh(test)), ['3', '0', '165']);
    const refused = await refresh(test);
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(limitHeaders(refused), ['3', '0', '165']);
    // 0.25 tokens there: 45 s until a whole one.
    assert.equal(refused.headers['retry-after'], '45');
    assert.equal(refused.body.code, 'rate_limited');
    assert.equal(refused.body.status, 429);
    assert.equal(refused.body.scope, 'ip');
    assert.equal(refused.body.retry_after, 45);
    test.advance(44_999);
    assert.equal((await refresh(test)).headers['retry-after'], '1', 'never less than 1 s');
    test.advance(1);
    assert.notEqual((await refresh(test)).status, 429, 'a token is back after Retry-After');
  });

  it('per client IP on public routes: each IP has its own bucket', async (t) => {
    const test = await appWith(t, { ip_burst: 2 });
    assert.deepEqual(
      [
        (await refresh(test, '192.0.2.1')).status,
        (await refresh(test, '192.0.2.1')).status,
        (await refresh(test, '192.0.2.1')).status,
        (await refresh(test, '2001:db8::1')).status,
      ],
      [401, 401, 429, 401],
    );
  });

  it('per email on login: case and spaces do not make a new bucket, other IPs share it', async (t) => {
    const test = await appWith(t, { ip_burst: 100, email_per_hour: 1, email_burst: 2 });
    await test.services.identity.users.createUser({
      email: 'ann@example.com',
      password_hash: await hashPassword('correct horse battery'),
    });
    const login = (email: string, ip: string) =>
      send(test, 'POST', '/api/v1/auth/login', {
        ip,
        body: { email, password: 'wrong password' },
      });
    const first = await login('ann@example.com', '192.0.2.1');
    assert.equal(first.status, 401);
    assert.equal((await login(' ANN@example.com', '192.0.2.2')).status, 401);
    const refused = await login('Ann@Example.com ', '192.0.2.3');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.scope, 'email');
    // One an hour: 3,600 s until one is back.
    assert.equal(refused.headers['retry-after'], '3600');
    assert.equal((await login('bob@example.com', '192.0.2.3')).status, 401, 'another address');
    // Registration spends from the same bucket.
    const register = await send(test, 'POST', '/api/v1/auth/register', {
      body: { email: 'ann@example.com', password: 'another long password' },
    });
    assert.deepEqual([register.status, register.body.scope], [429, 'email']);
  });

  it('per email on login: only failures spend, so successful logins are never refused for earlier ones', async (t) => {
    const test = await appWith(t, { ip_burst: 100, email_per_hour: 1, email_burst: 2 });
    const user = await test.services.identity.users.createUser({
      email: 'ann@example.com',
      password_hash: await hashPassword('correct horse battery'),
    });
    await apiKeyFor(test.services, 'acme');
    await test.services.tenancy.memberships.grant('acme', user.id, ['viewer']);
    const login = (password: string) =>
      send(test, 'POST', '/api/v1/auth/login', {
        ip: '192.0.2.1',
        body: { email: 'ann@example.com', password },
      });
    for (let i = 0; i < 5; i++) assert.equal((await login('correct horse battery')).status, 200);
    assert.equal((await login('wrong password')).status, 401);
    assert.equal((await login('correct horse battery')).status, 200);
    assert.equal((await login('wrong password')).status, 401);
    // The two failures emptied it: a guess, right or wrong, now waits for the refill.
    const refused = await login('correct horse battery');
    assert.deepEqual([refused.status, refused.body.scope], [429, 'email']);
    assert.equal((await login('wrong password')).status, 429);
  });

  it('per tenant by plan: two keys share the tenant budget; a plan change brings new numbers', async (t) => {
    const test = await appWith(t, {
      api_key_per_minute: 1000,
      api_key_burst: 1000,
      free_per_minute: 1,
      free_burst: 2,
      professional_per_minute: 2,
      professional_burst: 4,
      unlimited_burst: 7,
    });
    await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
    const [one, two] = [
      await apiKeyFor(test.services, 'acme'),
      await apiKeyFor(test.services, 'acme'),
    ];
    const other = await apiKeyFor(test.services, 'globex'); // plan unlimited
    const platform = await apiKeyFor(test.services, 'system');
    const list = (key: string) => send(test, 'GET', '/api/v1/entities', { key });
    assert.deepEqual(limitHeaders(await list(one)), ['2', '1', '60']);
    assert.equal((await list(two)).headers['x-ratelimit-remaining'], '0');
    const refused = await list(one);
    assert.deepEqual([refused.status, refused.body.scope], [429, 'tenant']);
    assert.equal((await list(other)).status, 200, 'another tenant has its own budget');

    const plan = (name: string) =>
      send(test, 'PATCH', '/api/v1/tenants/acme', { key: platform, body: { plan: name } });
    assert.equal((await plan('professional')).status, 200);
    // The same bucket, empty, now holding 4 and refilling 2 a minute: a token in 30 s.
    const upgraded = await list(one);
    assert.deepEqual([upgraded.status, ...limitHeaders(upgraded)], [429, '4', '0', '120']);
    assert.equal(upgraded.headers['retry-after'], '30');
    test.advance(30_000);
    assert.deepEqual(limitHeaders(await list(two)), ['4', '0', '120']);
    // A plan without rate numbers of its own gets unlimited's.
    assert.equal((await plan('enterprise-gold')).status, 200);
    assert.equal((await list(one)).headers['x-ratelimit-limit'], '7');
  });

  it('per API key: a key has its own bucket besides its tenant', async (t) => {
    const test = await appWith(t, { api_key_per_minute: 1, api_key_burst: 2 });
    const [one, two] = [
      await apiKeyFor(test.services, 'acme'),
      await apiKeyFor(test.services, 'acme'),
    ];
    const list = (key: string) => send(test, 'GET', '/api/v1/entities', { key });
    assert.equal((await list(one)).status, 200);
    assert.deepEqual(limitHeaders(await list(one)), ['2', '0', '120']);
    const refused = await list(one);
    assert.deepEqual([refused.status, refused.body.scope], [429, 'api_key']);
    assert.equal((await list(two)).status, 200, 'the other key of the tenant still has tokens');
  });

  it("an API key's 0 limits take its tenant plan's numbers", async (t) => {
    const test = await appWith(t, { free_per_minute: 1, free_burst: 3 });
    await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
    const key = await apiKeyFor(test.services, 'acme');
    const answers = [];
    for (let n = 0; n < 4; n++) {
      const sent = await send(test, 'GET', '/api/v1/entities', { key });
      answers.push([sent.status, sent.body.scope]);
    }
    // Both buckets hold 3; the key's is checked first, so it is the one that refuses.
    assert.deepEqual(answers.at(-1), [429, 'api_key']);
  });

  it('throttles 401 storms from one IP before checking credentials, even right ones', async (t) => {
    const test = await appWith(t, { ip_burst: 3 });
    const valid = await apiKeyFor(test.services, 'acme');
    const guess = (n: number) =>
      send(test, 'GET', '/api/v1/entities', { key: `tsk_guess${n}`, ip: '198.51.100.7' });
    const first = await guess(1);
    assert.equal(first.status, 401);
    assert.deepEqual(limitHeaders(first), ['3', '2', '60']);
    assert.equal((await guess(2)).status, 401);
    assert.equal((await guess(3)).status, 401);
    const refused = await guess(4);
    assert.deepEqual([refused.status, refused.body.scope], [429, 'ip']);
    assert.equal(refused.headers['retry-after'], '60');
    // A right guess is answered like a wrong one, or guessing would still pay.
    const right = await send(test, 'GET', '/api/v1/entities', { key: valid, ip: '198.51.100.7' });
    assert.equal(right.status, 429);
    const noCredentials = await send(test, 'GET', '/api/v1/entities', { ip: '198.51.100.7' });
    assert.equal(noCredentials.status, 429);
    const elsewhere = await send(test, 'GET', '/api/v1/entities', {
      key: valid,
      ip: '198.51.100.8',
    });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.headers['x-ratelimit-limit'], '20000', "the tenant's, not the IP's");

    const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^rate_limit_hits_total\{scope="ip"\} 3$/m);
  });

  it('never limit health, liveness, readiness, metrics or /.well-known', async (t) => {
    const test = await appWith(t, { ip_burst: 1 });
    for (const url of [
      '/health',
      '/liveness',
      '/readiness',
      '/metrics',
      '/.well-known/jwks.json',
    ]) {
      for (let n = 0; n < 5; n++) {
        const sent = await send(test, 'GET', url);
        assert.equal(sent.status, 200, `${url} #${n + 1}`);
        assert.equal(sent.headers['x-ratelimit-limit'], undefined, url);
      }
    }
    // Meanwhile /api/v1 is limited for that IP.
    assert.equal((await refresh(test)).status, 401);
    assert.equal((await refresh(test)).status, 429);
  });

  it('turn off entirely with rate_limits.enabled = false', async (t) => {
    const test = await appWith(t, { enabled: false, ip_burst: 1 });
    for (let n = 0; n < 5; n++) {
      const sent = await refresh(test);
      assert.equal(sent.status, 401);
      assert.equal(sent.headers['x-ratelimit-limit'], undefined);
    }
    const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
    assert.doesNotMatch(metrics.body, /rate_limit_hits_total/);
  });

  it('ignore X-Forwarded-For from an untrusted peer and honour it from a trusted proxy', async (t) => {
    const test = await appWith(t, { ip_burst: 1 }, { server: { trusted_proxies: ['10.0.0.0/8'] } });
    const via = (peer: string, forwarded: string) =>
      send(test, 'POST', '/api/v1/auth/refresh', {
        ip: peer,
        body: { refresh_token: 'not-a-token' },
        headers: { 'x-forwarded-for': forwarded },
      });
    // The spoofer picks a new address each time: its own (the peer's) bucket still empties.
    assert.equal((await via('203.0.113.5', '198.51.100.1')).status, 401);
    assert.equal((await via('203.0.113.5', '198.51.100.2')).status, 429);
    // Behind the trusted proxy each client has its own bucket.
    assert.equal((await via('10.1.2.3', '198.51.100.1')).status, 401);
    assert.equal((await via('10.1.2.3', '198.51.100.2')).status, 401);
    assert.equal((await via('10.1.2.3', '198.51.100.1')).status, 429);
  });
});
