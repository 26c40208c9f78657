import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withTimeout } from '../../platform/redis.ts';
import type { RateLimitBackend } from './rate-limit-backend.ts';
import { describeBucket } from './token-bucket.ts';

/**
 * One atomic step per request over all its buckets, the arithmetic of token-bucket.ts
 * in Lua: every bucket is refilled and compared, and only if each holds the cost is it
 * taken from all (a request refused by one bucket spends nothing from the others).
 * The clock is Redis's own TIME: nodes whose clocks disagree still refill one bucket
 * at one rate. A bucket is a hash {t: tokens, u: updated ms} that expires when it
 * would be full again, so idle buckets (a full bucket is the same as none) leave
 * Redis. A look (ARGV[2] = '0') writes nothing: looks come from every client and must
 * not create keys; nor does a refusal, which takes nothing.
 *
 * KEYS: the buckets. ARGV: cost, commit ('1' or '0'), then capacity and refill per ms
 * of each bucket. Returns, per bucket: 1 if it held the cost, and its tokens after.
 */
const TAKE_SCRIPT = `
local cost = tonumber(ARGV[1])
local commit = ARGV[2] == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tokens = {}
local all = true
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[1 + 2 * i])
  local rate = tonumber(ARGV[2 + 2 * i])
  local saved = redis.call('HMGET', key, 't', 'u')
  local held = capacity
  if saved[1] and saved[2] then
    local elapsed = math.max(0, now - tonumber(saved[2]))
    held = math.min(capacity, tonumber(saved[1]) + elapsed * rate)
  end
  tokens[i] = held
  if held < cost then all = false end
end
local result = {}
for i, key in ipairs(KEYS) do
  local held = tokens[i]
  result[2 * i - 1] = held >= cost and 1 or 0
  if all and commit then
    local capacity = tonumber(ARGV[1 + 2 * i])
    local rate = tonumber(ARGV[2 + 2 * i])
    held = held - cost
    redis.call('HSET', key, 't', tostring(held), 'u', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((capacity - held) / rate) + 1000)
  end
  result[2 * i] = tostring(held)
end
return result
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

  async function run(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(TAKE_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // NOSCRIPT: this Redis has not seen the script (new, restarted, or flushed). EVAL
      // runs it and caches it, so the next EVALSHA finds it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(TAKE_SCRIPT, keys.length, ...keys, ...args);
    }
  }

  return {
    async take(buckets, cost, lookOnly = false) {
      const keys = buckets.map(({ key }) => prefix + key);
      const args = [String(cost), lookOnly ? '0' : '1'];
      for (const { rule } of buckets) args.push(String(rule.capacity), String(rule.refillPerMs));
      const reply = (await withTimeout(run(keys, args), timeoutMs)) as (number | string)[];
      return buckets.map(({ rule }, n) =>
        describeBucket(Number(reply[2 * n + 1]), rule, reply[2 * n] === 1, cost),
      );
    },
  };
}
