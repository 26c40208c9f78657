import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';

const ALLOWED = 'https://app.example.com';

describe('CORS with an allow-list', () => {
  let test: TestApp;
  before(async () => {
    test = await buildTestApp({ server: { cors_origins: [ALLOWED, 'http://localhost:5173'] } });
  });
  after(() => test.close());

  it('echoes an allowed origin, varies on Origin and exposes X-Request-ID and rate-limit headers', async () => {
    const response = await test.app.inject({ url: '/health', headers: { origin: ALLOWED } });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(response.headers.vary), /Origin/);
    const exposed = String(response.headers['access-control-expose-headers']).split(/,\s*/);
    for (const header of [
      'x-request-id',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'retry-after',
    ]) {
      assert.ok(exposed.includes(header), header);
    }
    assert.equal(response.headers['access-control-allow-credentials'], undefined);
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
    for (const origin of [
      'https://evil.example',
      'https://app.example.com.evil.example',
      'http://app.example.com',
    ]) {
      const response = await test.app.inject({ url: '/health', headers: { origin } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('answers a preflight for an allowed origin', async () => {
    const response = await test.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/anything',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(response.headers['access-control-allow-methods']), /POST/);
    assert.match(String(response.headers['access-control-allow-headers']), /authorization/);
    assert.equal(response.headers['access-control-max-age'], '600');
    assert.ok(response.headers['x-request-id'], 'preflights carry a request id too');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
  });

  it('gives a preflight from a disallowed origin nothing a browser would accept', async () => {
    const response = await test.app.inject({
      method: 'OPTIONS',
      url: '/health',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });
});

describe('CORS with "*"', () => {
  it('allows any origin', async () => {
    const test = await buildTestApp({ server: { cors_origins: ['*'] } });
    try {
      const response = await test.app.inject({
        url: '/health',
        headers: { origin: 'https://any.example' },
      });
      assert.equal(response.headers['access-control-allow-origin'], '*');
    } finally {
      await test.close();
    }
  });
});

describe('CORS off (no origins configured)', () => {
  it('sends no CORS headers and answers no preflight', async () => {
    const test = await buildTestApp({ server: { cors_origins: [] } });
    try {
      const response = await test.app.inject({ url: '/health', headers: { origin: ALLOWED } });
      const corsHeaders = Object.keys(response.headers).filter((name) =>
        name.startsWith('access-control-'),
      );
      assert.deepEqual(corsHeaders, []);
      const preflight = await test.app.inject({
        method: 'OPTIONS',
        url: '/health',
        headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
      });
      assert.equal(preflight.statusCode, 405);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.headers.allow, 'GET, HEAD');
    } finally {
      await test.close();
    }
  });
});
