import type { BucketDecision, BucketRule } from './token-bucket.ts';

/** One bucket a request spends from: its key and its numbers. */
export interface BucketTake {
  readonly key: string;
  readonly rule: BucketRule;
}

/**
 * Where buckets live: this node's memory, or Redis shared by every node. A take is
 * one atomic step over all the request's buckets (refill, compare, subtract), so
 * concurrent requests never both spend a last token, and a request refused by one
 * bucket spends nothing from the others. With Redis it is one round trip.
 */
export interface RateLimitBackend {
  /**
   * Takes `cost` tokens from every bucket if each holds them, else from none. Returns
   * each bucket's decision in order (`allowed`: that bucket held the cost).
   * `lookOnly`: only says whether it could; changes and creates nothing.
   */
  take(buckets: readonly BucketTake[], cost: number, lookOnly?: boolean): Promise<BucketDecision[]>;
}
