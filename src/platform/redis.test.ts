import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testRedisUrl } from '../../test/helpers/app.ts';
import { openRedis, pingRedis } from './redis.ts';

function recordingLogger() {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    warn: (_object: object, message: string) => warnings.push(message),
    info: (_object: object, message: string) => infos.push(message),
  };
}

describe('openRedis and pingRedis', () => {
  it('pings a real Redis', async (t) => {
    const url = testRedisUrl(t);
    if (!url) return;
    const redis = openRedis(url);
    try {
      assert.equal(await pingRedis(redis, 2000), true);
      assert.equal(await redis.set('tessera:test:redis', 'ok', 'EX', 10), 'OK');
    } finally {
      redis.disconnect();
    }
  });

  it('an unreachable Redis: opening returns at once, ping says false within its timeout, one warning logged', async () => {
    const logger = recordingLogger();
    const started = Date.now();
    const redis = openRedis('redis://127.0.0.1:1', logger);
    assert.ok(Date.now() - started < 100, 'openRedis does not wait for a connection');
    try {
      const pingStarted = Date.now();
      assert.equal(await pingRedis(redis, 500), false);
      assert.ok(Date.now() - pingStarted < 1500, 'bounded by the timeout');
      // Several reconnect attempts have failed by now: still one warning, no crash.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await pingRedis(redis, 300), false);
      assert.deepEqual(logger.warnings, ['redis unavailable; retrying in the background']);
    } finally {
      redis.disconnect();
    }
  });

  it('a disconnected client: ping is false, never throws', async () => {
    const redis = openRedis('redis://127.0.0.1:1');
    redis.disconnect();
    assert.equal(await pingRedis(redis, 200), false);
  });

  it('an address that never answers: ping gives up within its timeout', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed, so the connect hangs.
    const redis = openRedis('redis://192.0.2.1:6379');
    try {
      const started = Date.now();
      assert.equal(await pingRedis(redis, 300), false);
      assert.ok(Date.now() - started < 1000);
    } finally {
      redis.disconnect();
    }
  });
});
