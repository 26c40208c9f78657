import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp, captureLogs } from '../../test/helpers/app.ts';

describe('request logging', () => {
  it('labels every line of a request with its request_id and redacts credentials', async () => {
    const logs = captureLogs();
    const test = await buildTestApp({}, 'sqlite', { logger: logs.logger });
    test.app.get('/test/log', async (request) => {
      request.log.info({ headers: request.headers }, 'handler saw headers');
      return { ok: true };
    });
    try {
      await test.app.inject({
        url: '/test/log',
        headers: {
          'x-request-id': 'log-test-1',
          authorization: 'Bearer top-secret-jwt',
          'x-api-key': 'tsk_live_secret',
          cookie: 'session=secret-cookie',
        },
      });
      const lines = logs.lines.filter((line) => line.request_id === 'log-test-1');
      const messages = lines.map((line) => line.msg);
      assert.deepEqual(messages, ['incoming request', 'handler saw headers', 'request completed']);
      const text = JSON.stringify(logs.lines);
      for (const secret of ['top-secret-jwt', 'tsk_live_secret', 'secret-cookie'])
        assert.ok(!text.includes(secret), secret);
      const headers = lines[1]?.headers as Record<string, string>;
      assert.equal(headers.authorization, '[redacted]');
      assert.equal(headers['x-api-key'], '[redacted]');
      assert.equal(headers.cookie, '[redacted]');
    } finally {
      await test.close();
    }
  });

  it('logging.requests = false: no per-request lines, but a handler log still carries request_id', async () => {
    const logs = captureLogs();
    const test = await buildTestApp({ logging: { requests: false } }, 'sqlite', {
      logger: logs.logger,
    });
    test.app.get('/test/log', async (request) => {
      request.log.info('from the handler');
      return { ok: true };
    });
    try {
      await test.app.inject({ url: '/test/log', headers: { 'x-request-id': 'quiet-1' } });
      assert.deepEqual(
        logs.lines.map((line) => [line.msg, line.request_id]),
        [['from the handler', 'quiet-1']],
      );
    } finally {
      await test.close();
    }
  });

  it('pino options instead of a logger: the configured level applies', async () => {
    const test = await buildTestApp({ logging: { level: 'warn' } }, 'sqlite', {
      logger: { name: 'x' },
    });
    try {
      assert.equal(test.app.log.level, 'warn');
    } finally {
      await test.close();
    }
  });
});
