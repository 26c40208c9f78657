import type { ChangeFeed } from '../../storage/change-feed.ts';
import { createInvalidatingCache } from '../../storage/invalidating-cache.ts';

/** What a cached credential depends on: a change to any of them drops it. */
export type CredentialKind = 'tenant' | 'user' | 'session' | 'api_key' | 'oauth_client';

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

/** The change feed topic of migration 0005's triggers (channel `tessera_credentials`). */
export const CREDENTIALS_TOPIC = 'credentials';

/**
 * The ids an entry depends on. `oauth_client` is optional: only what the OpenID
 * Provider caches (a client, what it issued) depends on a client; sessions and API
 * keys never do.
 */
export type CredentialOwner = {
  readonly [kind in Exclude<CredentialKind, 'oauth_client'>]: string | null;
} & { readonly oauth_client?: string | null };

export interface CredentialCacheOptions {
  /** How long an answer may be reused; 0 turns the cache off. */
  readonly ttlMs: number;
  /** Oldest entries go first beyond this many. */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** The database's change feed: answers are reused only while it hears every change. */
  readonly changes: ChangeFeed;
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
  readonly size: number;
}

interface Entry {
  readonly value: unknown;
  readonly owner: CredentialOwner;
}

const KINDS: ReadonlySet<string> = new Set<CredentialKind>([
  'tenant',
  'user',
  'session',
  'api_key',
  'oauth_client',
]);

/** `kind:id`, as the triggers announce a change and this node publishes its own. */
export function parseChange(payload: string): CredentialChange | undefined {
  const colon = payload.indexOf(':');
  const kind = payload.slice(0, colon);
  const id = payload.slice(colon + 1);
  if (colon < 0 || !KINDS.has(kind) || id === '') return undefined;
  return { kind: kind as CredentialKind, id };
}

/**
 * Per-node cache of credential lookups (API keys, sessions with their roles), so an
 * authenticated request does not cost a database round trip. Only a node that hears
 * every change may reuse answers: this node's own are published on the change feed
 * after commit, other writers' arrive through it, and while it does not hear (not
 * started, as in the CLI, or its connection lost) every lookup reads.
 */
export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const cache = createInvalidatingCache<Entry>({
    ttlMs: options.ttlMs,
    maxEntries: options.maxEntries,
    now: options.now,
    changes: options.changes,
    topic: CREDENTIALS_TOPIC,
    onlyWhileHeard: true,
    staleAfter(payload) {
      const change = parseChange(payload);
      // Something this version does not understand: forgetting everything is safe.
      return change && ((entry) => entry.owner[change.kind] === change.id);
    },
  });

  return {
    async through<T>(
      key: string,
      load: () => Promise<T | undefined>,
      ownerOf: (value: T) => CredentialOwner,
    ) {
      const found = await cache.through(key, async () => {
        const value = await load();
        return value === undefined ? undefined : { value, owner: ownerOf(value) };
      });
      return found?.value as T | undefined;
    },
    changed(change) {
      options.changes.publish(CREDENTIALS_TOPIC, `${change.kind}:${change.id}`);
    },
    get size() {
      return cache.size;
    },
  };
}
