import { compileRules, type FilterEntry, type IpFilterRules, NO_RULES } from './ip-filter-rules.ts';

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
  /** Run on every `current()`; true means another process wrote (SQLite): re-read first. */
  checkOutsideWrites(seen: () => boolean): void;
}

export interface IpFilterCacheDeps {
  readonly readAll: () => Promise<readonly FilterEntry[]>;
  /** A stored entry whose range does not parse (written by hand): skipped, reported. */
  readonly onInvalid?: (entry: FilterEntry, error: string) => void;
  /** A re-read after an outside write failed: the previous lists stay in force. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Every IP filter of every scope, in memory, so deciding on a request costs no
 * database read. Kept fresh by being told of changes: this node's own (the service
 * reloads after committing), other nodes' (PostgreSQL NOTIFY) and other processes'
 * (SQLite's data version), plus a periodic re-read as a safety net (see
 * ip-filter-watcher.ts).
 */
export function createIpFilterCache(deps: IpFilterCacheDeps): IpFilterCache {
  let rules: IpFilterRules = NO_RULES;
  let loaded = false;
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let required: Promise<void> | undefined;
  let outsideWriteSeen: (() => boolean) | undefined;

  async function readOnce(): Promise<void> {
    const entries = await deps.readAll();
    rules = compileRules(entries, deps.onInvalid);
    loaded = true;
  }

  function reload(): Promise<void> {
    if (!running) {
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

  return {
    async current() {
      if (!loaded || outsideWriteSeen?.()) {
        required ??= reload()
          .catch((error: unknown) => {
            // Never loaded: nothing to decide with, so the request fails. Loaded: the
            // lists in force stay in force until a re-read succeeds.
            if (!loaded) throw error;
            deps.onError?.(error);
          })
          .finally(() => {
            required = undefined;
          });
      }
      if (required) await required;
      return rules;
    },
    reload,
    checkOutsideWrites(seen) {
      outsideWriteSeen = seen;
    },
  };
}
