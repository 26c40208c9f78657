/** What a cached credential depends on: a change to any of them drops it. */
export type CredentialKind = 'tenant' | 'user' | 'session' | 'api_key';

export interface CredentialChange {
  readonly kind: CredentialKind;
  readonly id: string;
}

/** Told of every change to what authenticates a request, after the change commits. */
export interface CredentialChanges {
  changed(change: CredentialChange): void;
}

/** For stores used where nothing is cached (the CLI, tests of the stores themselves). */
export const IGNORE_CREDENTIAL_CHANGES: CredentialChanges = { changed() {} };

export type CredentialOwner = { readonly [kind in CredentialKind]: string | null };

export interface CredentialCacheOptions {
  /** How long an answer may be reused; 0 turns the cache off. */
  readonly ttlMs: number;
  /** Oldest entries go first beyond this many. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export interface CredentialCache extends CredentialChanges {
  /**
   * The cached answer for `key`, or `load()`'s, which is kept when it is found and
   * nothing changed while it was being read. Unknown credentials are never kept.
   */
  through<T>(
    key: string,
    load: () => Promise<T | undefined>,
    ownerOf: (value: T) => CredentialOwner,
  ): Promise<T | undefined>;
  /**
   * Only a node that hears every change may reuse answers: on while its listener is
   * connected, off while it is not. Either way everything cached is dropped. A node
   * that cannot hear other writers but can tell that one wrote (SQLite: another
   * process committed to the file) passes `outsideWriteSeen`: it runs before every
   * lookup, and a true answer drops everything first.
   */
  setActive(active: boolean, outsideWriteSeen?: () => boolean): void;
  readonly size: number;
}

interface Entry {
  readonly value: unknown;
  readonly owner: CredentialOwner;
  readonly expiresAt: number;
}

/**
 * Per-node cache of credential lookups (API keys, sessions with their roles), so an
 * authenticated request does not cost a database round trip. Correctness rests on
 * invalidation, not on the TTL: the node's own writes call `changed` after commit,
 * other writers' arrive through the database (PostgreSQL: LISTEN/NOTIFY; SQLite: the
 * file's data version). The TTL only bounds how long a change could go unseen if a
 * notification were lost without the connection visibly dropping.
 */
export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  let active = false;
  let outsideWriteSeen: (() => boolean) | undefined;
  // Bumped by every change: a load that began before a change may have read the old
  // state, so its answer is returned but not kept.
  let generation = 0;

  function clear(): void {
    generation++;
    entries.clear();
  }

  return {
    async through(key, load, ownerOf) {
      if (!active || options.ttlMs <= 0) return load();
      if (outsideWriteSeen?.()) clear();
      const hit = entries.get(key);
      if (hit && hit.expiresAt > now()) return hit.value as Awaited<ReturnType<typeof load>>;
      const before = generation;
      const value = await load();
      if (value !== undefined && before === generation && active) {
        entries.delete(key);
        if (entries.size >= maxEntries) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
        entries.set(key, { value, owner: ownerOf(value), expiresAt: now() + options.ttlMs });
      }
      return value;
    },
    changed(change) {
      generation++;
      // Changes are rare next to lookups, so a scan beats keeping an index per kind.
      for (const [key, entry] of entries) {
        if (entry.owner[change.kind] === change.id) entries.delete(key);
      }
    },
    setActive(next, check) {
      active = next;
      outsideWriteSeen = next ? check : undefined;
      clear();
    },
    get size() {
      return entries.size;
    },
  };
}
