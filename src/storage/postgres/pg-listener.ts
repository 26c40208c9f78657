import pg from 'pg';
import type { PostgresDatabase } from './open-postgres.ts';

export interface PgListenerHandlers {
  /** Shown in pg_stat_activity, so operators can tell the listeners apart. */
  readonly applicationName: string;
  readonly onNotification: (channel: string, payload: string) => void;
  /**
   * LISTEN is in place. `again`: after a lost connection, so every notification sent
   * in between was missed and whatever they would have said must be re-read.
   */
  readonly onConnected?: (again: boolean) => void;
  /** The connection is gone: nothing is heard until the next `onConnected`. */
  readonly onDisconnected?: () => void;
  /** Connection failures, for logging; the listener reconnects by itself. */
  readonly onError?: (error: unknown) => void;
}

export interface PgListener {
  /**
   * LISTENs on one more channel, now and after every reconnect. Resolves once it is
   * in place, or at once while disconnected (the reconnect LISTENs on it). A failure
   * is reported and treated as a lost connection.
   */
  add(channel: string): Promise<void>;
  close(): Promise<void>;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;
const CHANNEL_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * LISTENs on `channels` over a dedicated connection (a pooled one would be handed to
 * other queries and its notifications lost), reconnecting with backoff when it drops.
 * The first connection must succeed: a node that cannot listen should not start.
 */
export async function listenToPostgres(
  db: Pick<PostgresDatabase, 'pool'>,
  initialChannels: readonly string[],
  handlers: PgListenerHandlers,
): Promise<PgListener> {
  initialChannels.forEach(checkChannel);
  // Only ever grows, so a connection that LISTENed on the first n has n to go on from.
  const channels = [...initialChannels];
  const report = (error: unknown) => handlers.onError?.(error);
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;

  async function connect(): Promise<pg.Client | undefined> {
    const next = new pg.Client({
      ...db.pool.options,
      application_name: handlers.applicationName,
      // A silently dropped connection (NAT, failover) is noticed by TCP keepalive.
      keepAlive: true,
    });
    next.on('notification', (message) => {
      if (next === client) handlers.onNotification(message.channel, message.payload ?? '');
    });
    next.on('error', (error) => {
      report(error);
      lost(next);
    });
    next.on('end', () => lost(next));
    try {
      await next.connect();
      // Channels added meanwhile are LISTENed on too, before the connection counts as up.
      for (let listened = 0; listened < channels.length; ) {
        const more = channels.slice(listened);
        await next.query(more.map((channel) => `LISTEN ${channel}`).join('; '));
        listened += more.length;
      }
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await next.end();
      return undefined;
    }
    client = next;
    return next;
  }

  function lost(which: pg.Client): void {
    if (which !== client || closed) return;
    client = undefined;
    which.end().catch(() => {});
    handlers.onDisconnected?.();
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    retryTimer = setTimeout(async () => {
      try {
        if (await connect()) {
          retryMs = FIRST_RETRY_MS;
          handlers.onConnected?.(true);
        }
      } catch (error) {
        report(error);
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
        if (!closed) scheduleReconnect();
      }
    }, retryMs);
  }

  await connect();
  handlers.onConnected?.(false);

  return {
    async add(channel) {
      checkChannel(channel);
      if (channels.includes(channel)) return;
      channels.push(channel);
      const current = client;
      if (!current) return;
      try {
        await current.query(`LISTEN ${channel}`);
      } catch (error) {
        report(error);
        lost(current);
      }
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const last = client;
      client = undefined;
      await last?.end();
    },
  };
}

// Channel names are spliced into LISTEN, which takes no parameters.
function checkChannel(channel: string): void {
  if (!CHANNEL_NAME.test(channel)) throw new Error(`not a channel name: ${channel}`);
}
