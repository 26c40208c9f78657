import pg from 'pg';
import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import type { LogNotifier } from '../log-notifier.ts';
import { headPosition } from './head-position.ts';
import { EVENTS_CHANNEL } from './write-append-plan.ts';

export interface PgNotifierOptions {
  /** How often to read the head anyway, for notifications lost while disconnected. */
  readonly pollMs?: number;
  /** Connection and poll failures, for logging; the notifier recovers by itself. */
  readonly onError?: (error: unknown) => void;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

/**
 * Hears every node's commits through LISTEN on a dedicated connection (a pooled one
 * would be handed to other queries). Each append transaction runs pg_notify with
 * its new head, delivered on commit. Listeners are woken only when the head passes
 * the highest one announced, so a node's own commit (heard twice: `notify` and
 * the channel) wakes them once.
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
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;
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

  async function connect(): Promise<void> {
    const next = new pg.Client({
      ...db.pool.options,
      application_name: 'tessera-notifier',
      // A silently dropped connection (NAT, failover) is noticed by TCP keepalive.
      keepAlive: true,
    });
    next.on('notification', (message) => {
      const head = Number(message.payload);
      if (message.channel === EVENTS_CHANNEL && Number.isSafeInteger(head)) wake(head);
    });
    next.on('error', (error) => {
      report(error);
      lost(next);
    });
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    if (closed) await next.end();
    else client = next;
  }

  function lost(which: pg.Client): void {
    if (which !== client || closed) return;
    client = undefined;
    which.end().catch(() => {});
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    retryTimer = setTimeout(async () => {
      try {
        await connect();
        retryMs = FIRST_RETRY_MS;
        // Commits made while disconnected were notified to no one.
        await poll();
      } catch (error) {
        report(error);
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
        if (!closed) scheduleReconnect();
      }
    }, retryMs);
  }

  await connect();
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
      clearTimeout(retryTimer);
      listeners.clear();
      const last = client;
      client = undefined;
      await last?.end();
    },
  };
}
