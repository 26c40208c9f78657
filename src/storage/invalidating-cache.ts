import { type Change, type ChangeFeed, EVERYTHING } from './change-feed.ts';

/** Which entries a change makes stale: one key, those a test picks, or (undefined) all. */
export type Stale<V> = string | ((value: V, key: string) => boolean) | undefined;

export interface InvalidatingCacheOptions<V> {
  /** How long an entry may be reused; 0 turns the cache off (every lookup reads). */
  readonly ttlMs: number;
  /** Oldest entries go first beyond this many (default 10 000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** The feed whose `topic` announces what the entries were read from. */
  readonly changes: ChangeFeed;
  readonly topic: string;
  /** What a payload announced on the topic is about; default (or undefined): everything. */
  readonly staleAfter?: (payload: string) => Stale<V>;
  /**
   * Reuse entries only while the feed hears every change of the topic (see
   * `ChangeFeed.hears`); otherwise every lookup reads. For what must never outlive
   * a change unheard, such as a revoked credential.
   */
  readonly onlyWhileHeard?: boolean;
  /** Told of every change heard on the topic, once what it made stale is gone. */
  readonly onChange?: (change: Change) => void;
}

export interface InvalidatingCache<V> {
  /** The entry for `key` if it may be reused (the feed caught up first); synchronous for hot paths. */
  peek(key: string): V | undefined;
  /**
   * `read`'s answer, kept for `key` unless it is undefined (unknown things are never
   * kept), or something was made stale while it was being read (the answer may
   * predate the change), or the feed does not hear the topic (`onlyWhileHeard`).
   */
  load(key: string, read: () => Promise<V | undefined>): Promise<V | undefined>;
  /** `peek`, or else `load`. */
  through(key: string, read: () => Promise<V | undefined>): Promise<V | undefined>;
  /** Keeps `value` as current, as a caller that knows it is (it has just read it) may. */
  set(key: string, value: V): void;
  invalidate(stale: Stale<V>): void;
  readonly size: number;
  /** Stops following the topic; what is held is dropped. */
  close(): void;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/**
 * A node-local cache of things read from the database, kept correct by the change
 * feed rather than by its TTL: this node's writes are published on the topic, other
 * nodes' arrive through it (PostgreSQL NOTIFY), other processes' as EVERYTHING
 * (SQLite's data version, read by `catchUp` before every lookup), and so does a lost
 * connection. The TTL only bounds how long a change could go unseen should a
 * notification be lost without the connection visibly dropping.
 */
export function createInvalidatingCache<V>(
  options: InvalidatingCacheOptions<V>,
): InvalidatingCache<V> {
  const { changes, topic } = options;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry<V>>();
  // Bumped by every invalidation: a read that began before it may hold the old state.
  let generation = 0;

  const reusable = () => options.ttlMs > 0 && (!options.onlyWhileHeard || changes.hears(topic));

  function invalidate(stale: Stale<V>): void {
    generation++;
    if (stale === undefined) entries.clear();
    else if (typeof stale === 'string') entries.delete(stale);
    // Changes are rare next to lookups, so a scan beats keeping an index.
    else for (const [key, entry] of entries) if (stale(entry.value, key)) entries.delete(key);
  }

  function set(key: string, value: V): void {
    // Maps iterate in insertion order: re-inserted, the key is the newest.
    entries.delete(key);
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(key, { value, expiresAt: now() + options.ttlMs });
  }

  function peek(key: string): V | undefined {
    changes.catchUp();
    if (!reusable()) return undefined;
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > now()) return entry.value;
    entries.delete(key);
    return undefined;
  }

  async function load(key: string, read: () => Promise<V | undefined>): Promise<V | undefined> {
    const before = generation;
    const value = await read();
    if (value !== undefined && before === generation && reusable()) set(key, value);
    return value;
  }

  const unsubscribe = changes.subscribe(topic, (change) => {
    if (change === EVERYTHING) invalidate(undefined);
    else invalidate(options.staleAfter?.(change));
    options.onChange?.(change);
  });

  return {
    peek,
    load,
    through: async (key, read) => peek(key) ?? load(key, read),
    set(key, value) {
      if (options.ttlMs > 0) set(key, value);
    },
    invalidate,
    get size() {
      return entries.size;
    },
    close() {
      unsubscribe();
      invalidate(undefined);
    },
  };
}
