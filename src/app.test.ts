import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp } from '../test/helpers/app.ts';
import { testEngines } from '../test/helpers/test-database.ts';
import { API_PREFIX } from './app.ts';

for (const engine of testEngines()) {
  describe(`buildApp (${engine})`, () => {
    it('builds without listening, then serves real HTTP once the caller listens', async () => {
      const test = await buildTestApp({}, engine);
      try {
        assert.equal(test.app.server.listening, false, 'buildApp never listens');
        const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
        const response = await fetch(`${address}/health`, {
          headers: { 'x-request-id': 'real-http-1' },
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('x-request-id'), 'real-http-1');
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
        const body = (await response.json()) as { status: string; database: { engine: string } };
        assert.equal(body.status, 'ok');
        assert.equal(body.database.engine, engine);

        const missing = await fetch(`${address}${API_PREFIX}/streams`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(missing.status, 404);
        assert.equal(
          missing.headers.get('content-type'),
          'application/problem+json; charset=utf-8',
        );

        const docs = await fetch(`${address}/openapi.json`, {
          headers: { 'accept-encoding': 'br' },
        });
        assert.equal(docs.headers.get('content-encoding'), 'br');
        assert.equal(
          ((await docs.json()) as { openapi: string }).openapi,
          '3.1.0',
          'fetch decodes br',
        );
      } finally {
        await test.close();
      }
    });
  });
}

describe('buildApp route tree', () => {
  it('has the platform routes at the root and nothing else yet', async () => {
    const test = await buildTestApp();
    try {
      await test.app.ready();
      for (const url of [
        '/health',
        '/readiness',
        '/liveness',
        '/metrics',
        '/openapi.json',
        '/docs',
      ]) {
        assert.ok(test.app.hasRoute({ method: 'GET', url }), url);
      }
    } finally {
      await test.close();
    }
  });

  it('allows a route to be added before the first request (tests and later domains do)', async () => {
    const test = await buildTestApp();
    try {
      test.app.get(`${API_PREFIX}/test/echo`, async () => ({ echoed: true }));
      const response = await test.app.inject({ url: `${API_PREFIX}/test/echo` });
      assert.deepEqual(response.json(), { echoed: true });
      assert.equal(response.headers['cache-control'], 'no-store');
    } finally {
      await test.close();
    }
  });
});
