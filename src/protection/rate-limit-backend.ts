import type { BucketDecision, BucketRule } from './token-bucket.ts';

/**
 * Where buckets live: this node's memory, or Redis shared by every node. A take is
 * one atomic step (refill, compare, subtract), so concurrent requests never both
 * spend the last token.
 */
export interface RateLimitBackend {
  /**
   * Takes `cost` tokens from the bucket `key` under `rule`, if it holds them.
   * `lookOnly`: only says whether it could; changes and creates nothing.
   */
  take(key: string, rule: BucketRule, cost: number, lookOnly?: boolean): Promise<BucketDecision>;
}
