/**
 * Token-bucket arithmetic, free of storage and HTTP. A bucket holds at most
 * `capacity` tokens (the burst) and gains `refillPerMs` tokens every millisecond; a
 * request takes `cost` tokens if that many are there, and is refused otherwise
 * (taking nothing). A bucket nobody has touched is full.
 *
 * The Redis backend runs the same arithmetic in Lua (redis-backend.ts); both hand the
 * resulting token count to `describeBucket`, so the headers never depend on where a
 * bucket lives.
 */

export interface BucketRule {
  /** Most tokens the bucket holds: the burst a quiet client may spend at once. */
  readonly capacity: number;
  /** Tokens regained per millisecond. */
  readonly refillPerMs: number;
}

export interface BucketState {
  /** Tokens held at `updatedMs` (fractional: refill is continuous). */
  readonly tokens: number;
  readonly updatedMs: number;
}

/** What one take decided, in the units the headers speak. */
export interface BucketDecision {
  readonly allowed: boolean;
  /** The burst (X-RateLimit-Limit). */
  readonly limit: number;
  /** Whole tokens left after this take (X-RateLimit-Remaining). */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again (X-RateLimit-Reset, rounded up to seconds). */
  readonly resetMs: number;
  /** Refused: milliseconds until the cost is available (Retry-After); 0 when allowed. */
  readonly retryAfterMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export const perMinute = (perMinute: number, burst: number): BucketRule => ({
  capacity: burst,
  refillPerMs: perMinute / MINUTE_MS,
});

export const perHour = (perHour: number, burst: number): BucketRule => ({
  capacity: burst,
  refillPerMs: perHour / HOUR_MS,
});

/** The bucket at `nowMs`: refilled for the time since it was last touched, capped. */
export function refill(state: BucketState | undefined, rule: BucketRule, nowMs: number): number {
  if (!state) return rule.capacity;
  // A clock that went backwards (another node's, or NTP) refills nothing rather than draining.
  const elapsed = Math.max(0, nowMs - state.updatedMs);
  return Math.min(rule.capacity, state.tokens + elapsed * rule.refillPerMs);
}

/** Takes `cost` tokens if the bucket holds them; a refusal takes nothing. */
export function takeTokens(
  state: BucketState | undefined,
  rule: BucketRule,
  cost: number,
  nowMs: number,
): { readonly state: BucketState; readonly decision: BucketDecision } {
  const available = refill(state, rule, nowMs);
  const allowed = available >= cost;
  const tokens = allowed ? available - cost : available;
  return {
    state: { tokens, updatedMs: nowMs },
    decision: describeBucket(tokens, rule, allowed, cost),
  };
}

/** The decision for a bucket left holding `tokens` after a take of `cost` was allowed or not. */
export function describeBucket(
  tokens: number,
  rule: BucketRule,
  allowed: boolean,
  cost: number,
): BucketDecision {
  return {
    allowed,
    limit: rule.capacity,
    // Float refill can leave 4.9999999; a token that is there to the nanotoken counts.
    remaining: Math.max(0, Math.floor(tokens + 1e-9)),
    resetMs: msUntil(rule.capacity - tokens, rule),
    retryAfterMs: allowed ? 0 : msUntil(cost - tokens, rule),
  };
}

function msUntil(missing: number, rule: BucketRule): number {
  if (missing <= 1e-9) return 0;
  // The tolerance keeps 1 / (1/1000) = 1000.0000000001 from rounding up to 1001.
  return Math.ceil(missing / rule.refillPerMs - 1e-6);
}

/** Whole seconds for a header: rounded up, so a client waiting that long finds it true. */
export const toSeconds = (ms: number): number => Math.ceil(ms / 1000);
