import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type OwnRedisServer, startOwnRedis } from '../../../test/helpers/redis-server.ts';
import type { RateLimitBackend } from './rate-limit-backend.ts';
import { createRedisBackend } from './redis-backend.ts';
import { type BucketDecision, type BucketRule, perMinute } from './token-bucket.ts';

// Refills one token a minute: no test can see a refill in the time it runs.
const rule = perMinute(1, 3);

async function take(
  backend: RateLimitBackend,
  key: string,
  options: { rule?: BucketRule; lookOnly?: boolean } = {},
): Promise<BucketDecision> {
  const taken = await backend.take([{ key, rule: options.rule ?? rule }], 1, options.lookOnly);
  return taken[0] as BucketDecision;
}

describe('Redis backend', () => {
  /** Redis's own clock in ms, as the script reads it (TIME: seconds and microseconds). */
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  let server: OwnRedisServer;
  let redis: Redis;
  before(async () => {
    server = await startOwnRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });
  const prefix = () => `test:${randomUUID()}:`;

  it('admits the burst, then refuses, telling how long until a token is back', async () => {
    const backend = createRedisBackend(redis, { keyPrefix: prefix() });
    const remaining = [];
    for (let n = 0; n < 3; n++) remaining.push((await take(backend, 'k')).remaining);
    assert.deepEqual(remaining, [2, 1, 0]);
    const refused = await take(backend, 'k');
    assert.equal(refused.allowed, false);
    assert.equal(refused.remaining, 0);
    assert.ok(refused.retryAfterMs > 50_000 && refused.retryAfterMs <= 60_000);
    assert.ok(refused.resetMs > 170_000 && refused.resetMs <= 180_000);
  });

  it('is atomic: 20 concurrent takes from a bucket of 10 admit exactly 10', async () => {
    const backend = createRedisBackend(redis, { keyPrefix: prefix() });
    const ten = perMinute(1, 10);
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => take(backend, 'k', { rule: ten })),
    );
    assert.equal(decisions.filter((decision) => decision.allowed).length, 10);
  });

  it('takes from several buckets in one step, all or nothing', async () => {
    const keyPrefix = prefix();
    const backend = createRedisBackend(redis, { keyPrefix });
    const both = [
      { key: 'tenant:acme', rule },
      { key: 'api_key:k1', rule: perMinute(1, 1) },
    ];
    const first = await backend.take(both, 1);
    assert.deepEqual(
      first.map((decision) => [decision.allowed, decision.remaining]),
      [
        [true, 2],
        [true, 0],
      ],
    );
    const refused = await backend.take(both, 1);
    assert.deepEqual(
      refused.map((decision) => [decision.allowed, decision.remaining]),
      [
        [true, 2],
        [false, 0],
      ],
    );
    assert.equal((await take(backend, 'tenant:acme')).remaining, 1, 'the refusal spent nothing');
  });

  it('puts the prefix before every key and lets an idle bucket expire when it would be full', async () => {
    const keyPrefix = prefix();
    const backend = createRedisBackend(redis, { keyPrefix });
    await take(backend, 'ip:192.0.2.1');
    assert.deepEqual(await redis.keys(`${keyPrefix}*`), [`${keyPrefix}ip:192.0.2.1`]);
    const ttl = await redis.pttl(`${keyPrefix}ip:192.0.2.1`);
    const since = (await redisNow()) - Number(await redis.hget(`${keyPrefix}ip:192.0.2.1`, 'u'));
    // One token missing at one a minute: full in 60 s, plus a second's margin, less
    // what has gone by since (Redis's clock: however long a loaded machine took).
    assert.ok(ttl <= 61_000 && ttl >= 61_000 - since - 1, `ttl ${ttl}, ${since} ms later`);
  });

  it('a look and a refusal write nothing', async () => {
    const keyPrefix = prefix();
    const backend = createRedisBackend(redis, { keyPrefix });
    const look = await take(backend, 'k', { lookOnly: true });
    assert.deepEqual([look.allowed, look.remaining], [true, 3]);
    assert.deepEqual(await redis.keys(`${keyPrefix}*`), []);
    const none = perMinute(1, 0.5);
    assert.equal((await take(backend, 'small', { rule: none })).allowed, false);
    assert.deepEqual(await redis.keys(`${keyPrefix}*`), []);
  });

  it('loads its script again after Redis forgot it (NOSCRIPT)', async () => {
    const backend = createRedisBackend(redis, { keyPrefix: prefix() });
    assert.equal((await take(backend, 'k')).remaining, 2);
    await redis.script('FLUSH');
    assert.equal((await take(backend, 'k')).remaining, 1);
  });

  it('stamps buckets with Redis TIME (no node clock is sent to the script)', async () => {
    const keyPrefix = prefix();
    const backend = createRedisBackend(redis, { keyPrefix });
    const before = await redisNow();
    await take(backend, 'k');
    const after = await redisNow();
    const updated = Number(await redis.hget(`${keyPrefix}k`, 'u'));
    // Same clock: between Redis's own now before and after, whatever this node's says.
    assert.ok(before <= updated && updated <= after, `${before} <= ${updated} <= ${after}`);
  });

  it('fails (does not hang) when Redis is gone', async () => {
    const lost = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    lost.disconnect();
    const backend = createRedisBackend(lost, { keyPrefix: prefix(), timeoutMs: 500 });
    await assert.rejects(take(backend, 'k'));
  });
});
