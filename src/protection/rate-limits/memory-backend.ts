import type { RateLimitBackend } from './rate-limit-backend.ts';
import { type BucketState, describeBucket, refill, takeTokens } from './token-bucket.ts';

export interface MemoryBackendOptions {
  /** Most buckets kept; the least recently used goes first (default 100,000). */
  readonly maxBuckets?: number | undefined;
  readonly now?: (() => number) | undefined;
}

export interface MemoryBackend extends RateLimitBackend {
  /** Buckets held now (for tests and the bench). */
  readonly size: number;
}

/**
 * Buckets in this node's memory. The map is bounded: a client cycling through random
 * IPs or email addresses evicts old buckets instead of growing the heap. An evicted
 * bucket comes back full, which only ever favours a client that has been quiet longest.
 * Synchronous inside: a take cannot interleave with another.
 */
export function createMemoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, BucketState>();
  return {
    get size() {
      return buckets.size;
    },
    async take(takes, cost, lookOnly = false) {
      const at = now();
      const available = takes.map(({ key, rule }) => refill(buckets.get(key), rule, at));
      const allowed = available.every((tokens) => tokens >= cost);
      // Looks come from every client: they must not create buckets or evict others.
      const commit = allowed && !lookOnly;
      return takes.map(({ key, rule }, n) => {
        const tokens = available[n] as number;
        if (!commit) return describeBucket(tokens, rule, tokens >= cost, cost);
        const taken = takeTokens(buckets.get(key), rule, cost, at);
        // Re-inserting moves the key to the end: Map order is least recently used first.
        buckets.delete(key);
        if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value as string);
        buckets.set(key, taken.state);
        return taken.decision;
      });
    },
  };
}
