import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
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
    const redis = openRedis('redis://127.0.0.1:1', logger);
    assert.equal(redis.status === 'ready', false, 'openRedis returns before any connection');
    try {
      assert.equal(await pingRedis(redis, 500), false);
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

  it('a server that accepts but never answers: ping gives up with false', async (t) => {
    // A local listener that swallows every byte: the connection opens, PING never
    // gets a reply. (Tests send traffic only to this machine.)
    const silent = createServer((socket) => socket.on('data', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      silent.close();
      silent.unref();
    });
    const { port } = silent.address() as AddressInfo;
    const redis = openRedis(`redis://127.0.0.1:${port}`);
    try {
      assert.equal(await pingRedis(redis, 300), false);
    } finally {
      redis.disconnect();
    }
  });
});
