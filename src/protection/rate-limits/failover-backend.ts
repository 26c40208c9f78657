import type { Counter } from 'prom-client';
import { TesseraError } from '../../platform/errors.ts';
import type { BucketTake, RateLimitBackend } from './rate-limit-backend.ts';
import { RateLimitErrors } from './rate-limit-errors.ts';
import type { BucketDecision } from './token-bucket.ts';

/** `rate_limits.redis_failure`: what limiting does while Redis cannot be reached. */
export type RedisFailureMode = 'local' | 'fail_open' | 'fail_closed';

/** A backend's take; undefined means "not limited right now" (fail_open during an outage). */
export interface Limiter {
  take(
    buckets: readonly BucketTake[],
    cost: number,
    lookOnly?: boolean,
  ): Promise<BucketDecision[] | undefined>;
}

export interface FailoverLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface FailoverOptions {
  readonly shared: RateLimitBackend;
  /** This node's own buckets, for mode `local`. */
  readonly local: RateLimitBackend;
  readonly mode: RedisFailureMode;
  readonly log: FailoverLogger;
  /** rate_limit_backend_errors_total: every failed call to the shared backend. */
  readonly errors: Pick<Counter, 'inc'>;
  /** While down, the shared backend is tried again at most this often (default 1000 ms). */
  readonly retryMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * The shared (Redis) backend while it answers; the configured fallback while it does
 * not. An outage is logged once when it starts and once when it ends, every failed
 * call is counted, and a dead Redis is probed by one request at a time at most every
 * `retryMs`, not by every request (each probe may wait out a timeout).
 */
export function createFailoverBackend(options: FailoverOptions): Limiter {
  const retryMs = options.retryMs ?? 1000;
  const now = options.now ?? Date.now;
  let down = false;
  let retryAt = 0;
  let probing = false;

  function fallback(buckets: readonly BucketTake[], cost: number, lookOnly: boolean) {
    if (options.mode === 'local') return options.local.take(buckets, cost, lookOnly);
    if (options.mode === 'fail_open') return Promise.resolve(undefined);
    throw new TesseraError(
      RateLimitErrors.rate_limit_unavailable,
      'Rate limits cannot be checked right now (their shared store is unreachable), so the request was refused; retry shortly.',
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryMs / 1000))) } },
    );
  }

  return {
    async take(buckets, cost, lookOnly = false) {
      if (down && (probing || now() < retryAt)) return fallback(buckets, cost, lookOnly);
      const probe = down;
      if (probe) probing = true;
      try {
        const decision = await options.shared.take(buckets, cost, lookOnly);
        if (down) {
          down = false;
          options.log.info(
            { mode: options.mode },
            'rate limits: redis answers again; shared budgets restored',
          );
        }
        return decision;
      } catch (error) {
        options.errors.inc();
        if (!down) {
          down = true;
          options.log.warn(
            { err: error, mode: options.mode },
            `rate limits: redis unreachable; limiting ${MODE_TEXT[options.mode]} until it answers`,
          );
        }
        retryAt = now() + retryMs;
        return fallback(buckets, cost, lookOnly);
      } finally {
        if (probe) probing = false;
      }
    },
  };
}

const MODE_TEXT: { readonly [mode in RedisFailureMode]: string } = {
  local: "with this node's own buckets",
  fail_open: 'is off (fail_open)',
  fail_closed: 'refuses limited requests with 503 (fail_closed)',
};
