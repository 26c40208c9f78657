import type { FastifyReply } from 'fastify';
import { TesseraError } from '../../platform/errors.ts';
import { RateLimitErrors } from './rate-limit-errors.ts';
import type { RateLimitScope } from './rate-limit-rules.ts';
import { type BucketDecision, toSeconds } from './token-bucket.ts';

/** A bucket's decision and whose bucket it was. */
export interface ScopedDecision extends BucketDecision {
  readonly scope: RateLimitScope;
}

/**
 * Of two buckets, the one closer to refusing: fewer whole tokens left, or, as many
 * left, the one that takes longer to fill. The headers report it, so a client that
 * paces itself by them is never refused by a bucket it was not told about.
 */
export function moreRestrictive(a: ScopedDecision | null, b: ScopedDecision): ScopedDecision {
  if (!a) return b;
  if (b.remaining !== a.remaining) return b.remaining < a.remaining ? b : a;
  return b.resetMs > a.resetMs ? b : a;
}

/**
 * X-RateLimit-Limit: the bucket's burst (most requests it admits at once).
 * X-RateLimit-Remaining: whole tokens left after this request.
 * X-RateLimit-Reset: seconds until the bucket is full again (0: it is full).
 */
export function rateLimitHeaders(decision: BucketDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(toSeconds(decision.resetMs)),
  };
}

export function setRateLimitHeaders(reply: FastifyReply, decision: BucketDecision): void {
  reply.headers(rateLimitHeaders(decision));
}

const WHOSE: { readonly [scope in RateLimitScope]: string } = {
  ip: 'from your IP address',
  email: 'for this email address',
  tenant: 'of your tenant',
  api_key: 'with this API key',
};

/** 429 `rate_limited` (RFC 6585 §4) with Retry-After (RFC 9110 §10.2.3): whole seconds, at least 1. */
export function rateLimited(decision: ScopedDecision): TesseraError {
  const retryAfter = Math.max(1, toSeconds(decision.retryAfterMs));
  return new TesseraError(
    RateLimitErrors.rate_limited,
    `Too many requests ${WHOSE[decision.scope]}; retry in ${retryAfter} s. Nothing was done.`,
    {
      extensions: { scope: decision.scope, limit: decision.limit, retry_after: retryAfter },
      headers: { ...rateLimitHeaders(decision), 'retry-after': String(retryAfter) },
    },
  );
}
