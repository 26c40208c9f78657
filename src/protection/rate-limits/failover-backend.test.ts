import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TesseraError } from '../../platform/errors.ts';
import { createFailoverBackend, type RedisFailureMode } from './failover-backend.ts';
import { createMemoryBackend } from './memory-backend.ts';
import type { RateLimitBackend } from './rate-limit-backend.ts';
import { perMinute } from './token-bucket.ts';

const bucket = (key: string) => [{ key, rule }];

const rule = perMinute(1, 5);

/**
 * A shared store that can be switched off: its buckets are real memory buckets, its
 * outage throws like a Redis command does. Counts the calls that reached it.
 */
function switchableStore() {
  const buckets = createMemoryBackend();
  const store = {
    up: true,
    calls: 0,
    async take(...args: Parameters<RateLimitBackend['take']>) {
      store.calls++;
      if (!store.up) throw new Error('connect ECONNREFUSED');
      return buckets.take(...args);
    },
  };
  return store;
}

function setup(mode: RedisFailureMode) {
  let now = 0;
  const shared = switchableStore();
  const logs: { level: string; message: string }[] = [];
  let errors = 0;
  const limiter = createFailoverBackend({
    shared,
    local: createMemoryBackend(),
    mode,
    retryMs: 1000,
    now: () => now,
    errors: { inc: () => void errors++ },
    log: {
      warn: (_object, message) => logs.push({ level: 'warn', message }),
      info: (_object, message) => logs.push({ level: 'info', message }),
    },
  });
  return {
    limiter,
    shared,
    logs,
    errors: () => errors,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('failover backend', () => {
  it('local: serves from this node while the store is down, logging once each way', async () => {
    const { limiter, shared, logs, errors, advance } = setup('local');
    assert.equal((await limiter.take(bucket('k'), 1))?.[0]?.remaining, 4);
    shared.up = false;
    // The first failure switches to local buckets, which start full.
    assert.equal((await limiter.take(bucket('k'), 1))?.[0]?.remaining, 4);
    for (let n = 0; n < 5; n++) await limiter.take(bucket('k'), 1);
    assert.equal(
      (await limiter.take(bucket('k'), 1))?.[0]?.allowed,
      false,
      'local buckets still limit',
    );
    assert.equal(shared.calls, 2, 'not retried before retryMs');
    assert.equal(errors(), 1);
    advance(1000);
    await limiter.take(bucket('other'), 1);
    assert.equal(shared.calls, 3, 'retried once retryMs passed');
    assert.equal(errors(), 2, 'every failed call is counted');
    shared.up = true;
    advance(1000);
    assert.equal(
      (await limiter.take(bucket('k'), 1))?.[0]?.remaining,
      3,
      'the shared bucket again',
    );
    assert.deepEqual(
      logs.map((line) => line.level),
      ['warn', 'info'],
    );
    assert.match(logs[0]?.message ?? '', /redis unreachable/);
  });

  it('fail_open: allows without limiting while the store is down', async () => {
    const { limiter, shared } = setup('fail_open');
    shared.up = false;
    for (let n = 0; n < 10; n++) assert.equal(await limiter.take(bucket('k'), 1), undefined);
  });

  it('fail_closed: refuses with 503 rate_limit_unavailable and Retry-After', async () => {
    const { limiter, shared } = setup('fail_closed');
    shared.up = false;
    await assert.rejects(limiter.take(bucket('k'), 1), (error: TesseraError) => {
      assert.equal(error.code, 'rate_limit_unavailable');
      assert.equal(error.status, 503);
      assert.equal(error.headers?.['retry-after'], '1');
      return true;
    });
  });

  it('lets one request at a time probe a dead store', async () => {
    const { limiter, shared, advance } = setup('local');
    shared.up = false;
    await limiter.take(bucket('k'), 1);
    advance(1000);
    await Promise.all(Array.from({ length: 10 }, () => limiter.take(bucket('k'), 1)));
    assert.equal(shared.calls, 2);
  });
});
