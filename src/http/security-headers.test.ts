import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';
import { defaultConfig } from '../config/load.ts';
import { securityHeaders } from './security-headers.ts';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

function assertSecurityHeaders(headers: Record<string, unknown>) {
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.match(
    String(headers['permissions-policy']),
    /camera=\(\), .*geolocation=\(\), .*microphone=\(\)/,
  );
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(headers['cross-origin-resource-policy'], 'same-origin');
  assert.equal(headers['strict-transport-security'], 'max-age=15552000');
  assert.equal(headers['x-powered-by'], undefined);
  assert.equal(headers.server, undefined);
}

describe('security headers', () => {
  let test: TestApp;
  before(async () => {
    test = await buildTestApp();
    test.app.get('/test/crash', async () => {
      throw new Error('boom');
    });
  });
  after(() => test.close());

  for (const [name, request, status] of [
    ['a success', { url: '/health' }, 200],
    ['a 404', { url: '/nope' }, 404],
    ['a 405', { method: 'PATCH', url: '/health' }, 405],
    ['a 500', { url: '/test/crash' }, 500],
    ['a malformed URL', { url: '/x%zz' }, 400],
  ] as const) {
    it(`are on ${name} with the API policy and no caching`, async () => {
      const response = await test.app.inject(request);
      assert.equal(response.statusCode, status);
      assertSecurityHeaders(response.headers);
      assert.equal(response.headers['content-security-policy'], API_CSP);
      assert.equal(response.headers['cache-control'], 'no-store');
    });
  }

  it('the /docs UI and its static files get a policy that lets its own scripts and styles load', async () => {
    for (const url of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const response = await test.app.inject({ url });
      assert.equal(response.statusCode, 200, url);
      assertSecurityHeaders(response.headers);
      const csp = String(response.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      assert.match(csp, /style-src 'self'(;|$)/, url);
      assert.match(csp, /img-src 'self' data:/, url);
      assert.match(csp, /default-src 'none'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
    }
  });
});

describe('Strict-Transport-Security from the configuration (RFC 6797)', () => {
  const server = { hsts_max_age_seconds: 31_536_000, hsts_include_subdomains: true } as const;

  it('adds includeSubDomains when configured', () => {
    const { api } = securityHeaders({ ...defaults(), ...server });
    assert.equal(api['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });

  it('is omitted when max-age is 0', async () => {
    const test = await buildTestApp({ server: { hsts_max_age_seconds: 0 } });
    try {
      const response = await test.app.inject({ url: '/liveness' });
      assert.equal(response.headers['strict-transport-security'], undefined);
      assert.equal(response.headers['x-frame-options'], 'DENY');
    } finally {
      await test.close();
    }
  });
});

function defaults() {
  return { ...defaultConfig().server, hsts_max_age_seconds: 1 };
}
