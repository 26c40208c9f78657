import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import { listenToPostgres } from '../../storage/postgres/pg-listener.ts';
import type { LogNotifier } from '../log-notifier.ts';
import { headPosition } from './head-position.ts';
import { EVENTS_CHANNEL } from './write-append-plan.ts';

export interface PgNotifierOptions {
  /** How often to read the head anyway, for notifications lost while disconnected. */
  readonly pollMs?: number;
  /** Connection and poll failures, for logging; the notifier recovers by itself. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Hears every node's commits through LISTEN. Each append transaction runs pg_notify
 * with its new head, delivered on commit. Listeners are woken only when the head
 * passes the highest one announced, so a node's own commit (heard twice: `notify`
 * and the channel) wakes them once.
 */
export async function createPgNotifier(
  db: PostgresDatabase,
  options: PgNotifierOptions = {},
): Promise<LogNotifier> {
  const listeners = new Set<(head: number) => void>();
  const report = (error: unknown) => options.onError?.(error);
  // Before migrations (a readiness probe's window) there is no head yet: start at 0;
  // wake-ups are only hints, so an early spurious one costs a read, nothing more.
  let announced = await headPosition(db.pool).catch(() => 0);
  let closed = false;
  let polling = false;

  function wake(head: number): void {
    if (closed || head <= announced) return;
    announced = head;
    for (const listener of [...listeners]) {
      // One failing listener must not keep the others (or the connection) from hearing.
      try {
        listener(head);
      } catch (error) {
        report(error);
      }
    }
  }

  async function poll(): Promise<void> {
    if (polling || closed) return;
    polling = true;
    try {
      wake(await headPosition(db.pool));
    } catch (error) {
      report(error);
    } finally {
      polling = false;
    }
  }

  const connection = await listenToPostgres(db, [EVENTS_CHANNEL], {
    applicationName: 'tessera-notifier',
    onNotification(_channel, payload) {
      const head = Number(payload);
      if (Number.isSafeInteger(head)) wake(head);
    },
    // Commits made while disconnected were notified to no one.
    onConnected: (again) => {
      if (again) void poll();
    },
    onError: report,
  });
  const pollTimer = setInterval(poll, options.pollMs ?? 1000);
  pollTimer.unref();

  return {
    notify: wake,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearInterval(pollTimer);
      listeners.clear();
      await connection.close();
    },
  };
}
