import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimitBackend } from './rate-limit-backend.ts';
import { describeBucket } from './token-bucket.ts';

/**
 * One atomic step per take, the arithmetic of token-bucket.ts in Lua. The clock is
 * Redis's own TIME: nodes whose clocks disagree still refill one bucket at one rate.
 * A bucket is a hash {t: tokens, u: updated ms} that expires when it would be full
 * again, so idle buckets (a bucket that is full is the same as none) leave Redis.
 * A look (ARGV[4] = '0') writes nothing: looks come from every client and must not
 * create keys; nor does a refusal, which takes nothing.
 */
const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = capacity
if saved[1] and saved[2] then
  local elapsed = math.max(0, now - tonumber(saved[2]))
  tokens = math.min(capacity, tonumber(saved[1]) + elapsed * rate)
end
local allowed = 0
if tokens >= cost then
  allowed = 1
end
if allowed == 1 and ARGV[4] == '1' then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
end
return {allowed, tostring(tokens)}
`;

const TAKE_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

export interface RedisBackendOptions {
  /** Put before every key, so deployments (or tests) sharing a Redis keep apart. */
  readonly keyPrefix?: string | undefined;
  /** A command not answered in this time fails (Redis hanging rather than refusing). */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_KEY_PREFIX = 'tessera:ratelimit:';

export function createRedisBackend(
  redis: Redis,
  options: RedisBackendOptions = {},
): RateLimitBackend {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const timeoutMs = options.timeoutMs ?? 1000;

  async function run(key: string, args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(TAKE_SHA, 1, key, ...args);
    } catch (error) {
      // NOSCRIPT: this Redis has not seen the script (new, restarted, or flushed). EVAL
      // runs it and caches it, so the next EVALSHA finds it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(TAKE_SCRIPT, 1, key, ...args);
    }
  }

  return {
    async take(key, rule, cost, lookOnly = false) {
      const commit = lookOnly ? '0' : '1';
      const args = [String(rule.capacity), String(rule.refillPerMs), String(cost), commit];
      const reply = await withTimeout(run(prefix + key, args), timeoutMs);
      const [allowed, tokens] = reply as [number, string];
      return describeBucket(Number(tokens), rule, allowed === 1, cost);
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
