import type { ChangeFeed } from '../../storage/change-feed.ts';
import { createInvalidatingCache } from '../../storage/invalidating-cache.ts';
import { compileRules, type FilterEntry, type IpFilterRules, NO_RULES } from './ip-filter-rules.ts';

/** The change feed topic of migration 0008's trigger (channel `tessera_ip_filters`). */
export const IP_FILTERS_TOPIC = 'ip_filters';

export interface IpFilterCache {
  /**
   * The lists to decide with. Normally synchronous work on memory; it reads the
   * database only for the first request, and on SQLite after another process wrote.
   */
  current(): Promise<IpFilterRules>;
  /**
   * Re-reads every list. Resolves once a read that began after this call has been
   * applied, so a caller that just committed a change sees it.
   */
  reload(): Promise<void>;
  /** Stops following the change feed. */
  close(): void;
}

export interface IpFilterCacheDeps {
  readonly readAll: () => Promise<readonly FilterEntry[]>;
  /** The database's change feed, which announces every change to the lists. */
  readonly changes: ChangeFeed;
  /** A stored entry whose range does not parse (written by hand): skipped, reported. */
  readonly onInvalid?: (entry: FilterEntry, error: string) => void;
  /** A re-read after a change failed: the previous lists stay in force. */
  readonly onError?: (error: unknown) => void;
}

const RULES = 'rules';

/**
 * Every IP filter of every scope, in memory, so deciding on a request costs no
 * database read: a one-entry invalidating cache, re-read at once when the change
 * feed announces a change (this node's service reloads after committing), and
 * before the next decision when the feed cannot say what changed (SQLite: another
 * process wrote). Until a re-read succeeds the lists in force stay in force.
 */
export function createIpFilterCache(deps: IpFilterCacheDeps): IpFilterCache {
  let inForce: IpFilterRules = NO_RULES;
  let loaded = false;
  let running: Promise<void> | undefined;
  // The read under way began after every change heard so far.
  let runningIsFresh = false;
  let queued: Promise<void> | undefined;
  let required: Promise<void> | undefined;
  let lastReported: unknown;

  const fresh = createInvalidatingCache<IpFilterRules>({
    ttlMs: Number.POSITIVE_INFINITY,
    maxEntries: 1,
    changes: deps.changes,
    topic: IP_FILTERS_TOPIC,
    // An announced change is re-read at once (below) while requests go on deciding
    // with the lists in force for those milliseconds. EVERYTHING (another process
    // wrote, a connection came or went) still empties the entry: the next request
    // waits for a read.
    staleAfter: () => () => false,
    onChange() {
      runningIsFresh = false;
      // Re-read now rather than make a request wait. Lists never read are read by
      // the first request; a feed that stopped hearing will say so again once back.
      if (loaded && deps.changes.hears(IP_FILTERS_TOPIC)) reload().catch(keepInForce);
    },
  });

  /** A re-read failed: the lists in force stay in force until one succeeds. */
  function keepInForce(error: unknown): void {
    fresh.set(RULES, inForce);
    // A request may be waiting for the very read a change began: one report of it.
    if (error === lastReported) return;
    lastReported = error;
    deps.onError?.(error);
  }

  async function readOnce(): Promise<void> {
    const read = await fresh.load(RULES, async () =>
      compileRules(await deps.readAll(), deps.onInvalid),
    );
    inForce = read ?? NO_RULES;
    loaded = true;
  }

  function reload(): Promise<void> {
    if (!running) {
      runningIsFresh = true;
      running = readOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    // The read under way may have begun before the caller's change: one more after it,
    // shared by every caller that arrives meanwhile.
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return reload();
      });
    return queued;
  }

  /** A read that began after every change heard so far. */
  const freshRead = () => (running && runningIsFresh ? running : reload());

  return {
    async current() {
      if (fresh.peek(RULES)) return inForce;
      required ??= freshRead()
        .catch((error: unknown) => {
          // Never loaded: nothing to decide with, so the request fails.
          if (!loaded) throw error;
          keepInForce(error);
        })
        .finally(() => {
          required = undefined;
        });
      await required;
      return inForce;
    },
    reload,
    close: () => fresh.close(),
  };
}
