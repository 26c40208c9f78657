import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../../config/schema.ts';
import { createFailoverBackend, type FailoverLogger, type Limiter } from './failover-backend.ts';
import { createMemoryBackend } from './memory-backend.ts';
import { type RateLimitRules, rulesFrom } from './rate-limit-rules.ts';
import { createRedisBackend } from './redis-backend.ts';

/** What a deployment (or a test) may tune beyond the configuration. */
export interface RateLimitTuning {
  /** Redis key prefix (default `tessera:ratelimit:`): deployments sharing a Redis keep apart. */
  readonly keyPrefix?: string | undefined;
  /** While Redis is down, how often it is tried again (default 1000 ms). */
  readonly redisRetryMs?: number | undefined;
  /** The clock of this node's own (memory) buckets; Redis buckets keep Redis's time. */
  readonly now?: (() => number) | undefined;
}

export interface RateLimitOptions extends RateLimitTuning {
  readonly config: Config['rate_limits'];
  /** The app's Redis client; without one, buckets live in this node's memory. */
  readonly redis?: Redis | undefined;
  readonly metrics: Registry;
  readonly log: FailoverLogger;
}

export interface RateLimits {
  readonly rules: RateLimitRules;
  readonly limiter: Limiter;
  readonly hits: Counter<'scope'>;
}

/** The limiter of one app: rules from config, buckets in Redis or memory, its metrics. */
export function openRateLimits(options: RateLimitOptions): RateLimits {
  const registers = [options.metrics];
  const hits = new Counter({
    name: 'rate_limit_hits_total',
    help: 'Requests refused by a rate limit (429), by the scope of the bucket that was empty.',
    labelNames: ['scope'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'rate_limit_backend_errors_total',
    help: 'Calls to the shared rate-limit store (Redis) that failed; each was served by redis_failure.',
    registers,
  });
  const local = createMemoryBackend({ now: options.now });
  const limiter = options.redis
    ? createFailoverBackend({
        shared: createRedisBackend(options.redis, { keyPrefix: options.keyPrefix }),
        local,
        mode: options.config.redis_failure,
        log: options.log,
        errors,
        retryMs: options.redisRetryMs,
      })
    : local;
  return { rules: rulesFrom(options.config), limiter, hits };
}
