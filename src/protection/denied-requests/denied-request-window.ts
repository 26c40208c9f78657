import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';

/** How long the denials of one caller on one route with one error share two rows. */
export const DENIED_REQUEST_WINDOW_MS = 60_000;
/** Open windows remembered at once; past it, windows that ended are written and dropped. */
const MAX_OPEN_WINDOWS = 10_000;

export interface DeniedRequestWindowOptions {
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Runs `flush` once, `ms` from now, without keeping the process alive; returns a cancel. */
  readonly schedule?: (flush: () => void, ms: number) => () => void;
  /**
   * A denial written to the trail in a row of its own (`recorded`), counted into a
   * window's summary (`coalesced`), or whose row could not be written (`failed`).
   */
  readonly count?: (outcome: 'recorded' | 'coalesced' | 'failed') => void;
  /** A summary that could not be written: the denials it counted stay in the metric only. */
  readonly onError?: (error: unknown) => void;
}

export interface DeniedRequestWindows {
  /** Records the denial, or counts it into its window's summary when one is open. */
  deny(context: AuditContext, entry: AuditEntry): Promise<void>;
  /** Writes the summary of every window that counted denials, and forgets them all. */
  close(): Promise<void>;
}

interface OpenWindow {
  readonly openedAt: number;
  readonly entry: AuditEntry;
  repeated: number;
  lastAt: number;
  lastContext: AuditContext;
  cancel: (() => void) | undefined;
}

const unrefTimer = (flush: () => void, ms: number) => {
  const timer = setTimeout(flush, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Bounds the `request.denied` rows a caller can make the trail hold. The first denial
 * of a caller (actor) on a route with an error code is recorded at once, as before;
 * the same denial repeated within the window is only counted, and when the window
 * ends one more `request.denied` row says how many there were (`details.repeated`,
 * with the first and last time) and carries the last request's context. So 500
 * denials in a minute are two rows, not 500, and none goes unaccounted for. A
 * different route, error or caller opens its own window; the routes are a fixed set
 * and callers are bounded by the tenant's quotas. Each node keeps its own windows.
 */
export function deniedRequestWindows(
  audit: Pick<AuditLog, 'record'>,
  options: DeniedRequestWindowOptions = {},
): DeniedRequestWindows {
  const windowMs = options.windowMs ?? DENIED_REQUEST_WINDOW_MS;
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? unrefTimer;
  const open = new Map<string, OpenWindow>();

  const summarize = async (key: string, window: OpenWindow) => {
    if (open.get(key) === window) open.delete(key);
    window.cancel?.();
    if (window.repeated === 0) return;
    const { entry } = window;
    try {
      await audit.record(window.lastContext, [
        {
          ...entry,
          details: {
            ...entry.details,
            repeated: window.repeated,
            first_at: new Date(window.openedAt).toISOString(),
            last_at: new Date(window.lastAt).toISOString(),
          },
        },
      ]);
    } catch (error) {
      options.onError?.(error);
    }
  };

  const closeEnded = async (at: number) => {
    for (const [key, window] of open) {
      if (at - window.openedAt >= windowMs) await summarize(key, window);
    }
  };

  return {
    async deny(context, entry) {
      const at = now();
      const key = JSON.stringify([entry.tenant_id, context.actor, entry.target, entry.details]);
      const current = open.get(key);
      if (current && at - current.openedAt < windowMs) {
        current.repeated += 1;
        current.lastAt = at;
        current.lastContext = context;
        current.cancel ??= schedule(
          () => void summarize(key, current),
          current.openedAt + windowMs - at,
        );
        options.count?.('coalesced');
        return;
      }
      if (current) await summarize(key, current);
      if (open.size >= MAX_OPEN_WINDOWS) await closeEnded(at);
      // Still full: many callers at once. Record without a window rather than drop one.
      const window: OpenWindow | undefined =
        open.size < MAX_OPEN_WINDOWS
          ? {
              openedAt: at,
              entry,
              repeated: 0,
              lastAt: at,
              lastContext: context,
              cancel: undefined,
            }
          : undefined;
      if (window) open.set(key, window);
      try {
        await audit.record(context, [entry]);
        options.count?.('recorded');
      } catch (error) {
        // Not recorded: the next such denial must be recorded in full, not counted.
        if (window && open.get(key) === window) open.delete(key);
        options.count?.('failed');
        throw error;
      }
    },
    async close() {
      for (const [key, window] of [...open]) await summarize(key, window);
    },
  };
}
