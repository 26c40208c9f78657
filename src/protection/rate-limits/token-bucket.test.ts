import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BucketState,
  describeBucket,
  perHour,
  perMinute,
  refill,
  takeTokens,
  toSeconds,
} from './token-bucket.ts';

/** Takes `count` single tokens at `atMs`, returning the last state and how many were allowed. */
function takeMany(state: BucketState | undefined, rule = perMinute(60, 100), count = 1, atMs = 0) {
  let current = state;
  let allowed = 0;
  for (let n = 0; n < count; n++) {
    const result = takeTokens(current, rule, 1, atMs);
    current = result.state;
    if (result.decision.allowed) allowed++;
  }
  return { state: current as BucketState, allowed };
}

describe('token bucket arithmetic', () => {
  it('starts full: a burst of exactly `capacity` is admitted at once, the next refused', () => {
    const rule = perMinute(60, 100);
    const { state, allowed } = takeMany(undefined, rule, 100);
    assert.equal(allowed, 100);
    assert.equal(state.tokens, 0);
    const refused = takeTokens(state, rule, 1, 0);
    assert.equal(refused.decision.allowed, false);
    assert.equal(refused.state.tokens, 0, 'a refusal takes nothing');
  });

  it('refills per_minute / 60 tokens per second, continuously', () => {
    const rule = perMinute(60, 100); // 1 token per second
    const empty: BucketState = { tokens: 0, updatedMs: 0 };
    assert.equal(refill(empty, rule, 1000), 1);
    assert.equal(refill(empty, rule, 2500), 2.5);
    assert.equal(refill(empty, rule, 60_000), 60);
    // 600/min (professional) is 10 per second.
    assert.equal(refill(empty, perMinute(600, 1000), 1000), 10);
  });

  it('never refills past the burst', () => {
    const rule = perMinute(60, 100);
    assert.equal(refill({ tokens: 0, updatedMs: 0 }, rule, 3_600_000), 100);
    assert.equal(refill({ tokens: 99, updatedMs: 0 }, rule, 5000), 100);
  });

  it('email buckets refill per hour: 10/hour is one token every 6 minutes', () => {
    const rule = perHour(10, 10);
    const empty: BucketState = { tokens: 0, updatedMs: 0 };
    assert.equal(refill(empty, rule, 360_000), 1);
    assert.equal(refill(empty, rule, 359_999) < 1, true);
    assert.equal(takeTokens(empty, rule, 1, 359_999).decision.allowed, false);
    assert.equal(takeTokens(empty, rule, 1, 360_000).decision.allowed, true);
  });

  it('a clock that goes backwards refills nothing and drains nothing', () => {
    assert.equal(refill({ tokens: 5, updatedMs: 10_000 }, perMinute(60, 100), 4000), 5);
  });

  it('after draining, admits exactly the refill: 1/s for 30 s is 30 more', () => {
    const rule = perMinute(60, 100);
    const drained = takeMany(undefined, rule, 100).state;
    const later = takeMany(drained, rule, 50, 30_000);
    assert.equal(later.allowed, 30);
  });

  it('reports remaining whole tokens, seconds to full, and time until the cost is there', () => {
    const rule = perMinute(60, 100);
    const afterOne = takeTokens(undefined, rule, 1, 0).decision;
    assert.deepEqual(afterOne, {
      allowed: true,
      limit: 100,
      remaining: 99,
      resetMs: 1000,
      retryAfterMs: 0,
    });
    // 0.25 tokens left: refused, 750 ms until one is there, 99.75 s until full.
    const refused = describeBucket(0.25, rule, false, 1);
    assert.deepEqual(refused, {
      allowed: false,
      limit: 100,
      remaining: 0,
      resetMs: 99_750,
      retryAfterMs: 750,
    });
    assert.equal(toSeconds(refused.resetMs), 100);
    assert.equal(toSeconds(refused.retryAfterMs), 1);
    assert.equal(toSeconds(0), 0);
  });

  it('a full bucket resets in 0 s; float refill of 4.999999999 counts as 5 tokens', () => {
    assert.equal(describeBucket(100, perMinute(60, 100), true, 1).resetMs, 0);
    assert.equal(describeBucket(4.9999999999, perMinute(60, 100), true, 1).remaining, 5);
  });
});
