import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { testRedisUrl } from '../../test/helpers/app.ts';
import { UNTIL_DEADLINE_MS } from '../../test/helpers/until.ts';
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

/** Resolves once the client has scheduled `count` reconnects (each after a failure). */
function reconnects(redis: ReturnType<typeof openRedis>, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onReconnecting = () => {
      if (++seen < count) return;
      redis.off('reconnecting', onReconnecting);
      resolve();
    };
    redis.on('reconnecting', onReconnecting);
  });
}

describe('openRedis and pingRedis', () => {
  it('pings a real Redis', async (t) => {
    const url = testRedisUrl(t);
    if (!url) return;
    const redis = openRedis(url);
    try {
      // The timeout is a safety net here, sized for a loaded machine: a real Redis answers.
      assert.equal(await pingRedis(redis, UNTIL_DEADLINE_MS), true);
      assert.equal(await redis.set('tessera:test:redis', 'ok', 'EX', 10), 'OK');
    } finally {
      redis.disconnect();
    }
  });

  it('an unreachable Redis: opening returns at once, ping says false within its timeout, one warning logged', async () => {
    const logger = recordingLogger();
    const redis = openRedis('redis://127.0.0.1:1', logger);
    assert.equal(redis.status === 'ready', false, 'openRedis returns before any connection');
    // Counted from ioredis' own events, not guessed from elapsed time.
    const retried = reconnects(redis, 3);
    try {
      assert.equal(await pingRedis(redis, 500), false);
      await retried;
      // Several reconnect attempts have failed by now: still one warning, no crash.
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
