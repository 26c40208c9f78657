import { defineErrorCodes } from '../../platform/errors.ts';

/** Refusals of the rate limiter; documented in docs/errors.md and docs/rate-limits.md. */
export const RateLimitErrors = defineErrorCodes({
  rate_limited: { status: 429, title: 'Rate limited' },
  rate_limit_unavailable: { status: 503, title: 'Rate limiting unavailable' },
});
