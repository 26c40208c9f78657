import { type ChangeFeed, EVERYTHING } from '../change-feed.ts';
import { type ChangeSource, createChangeFeed, type SourceSignals } from '../change-feed-core.ts';
import type { PostgresDatabase } from './open-postgres.ts';
import { listenToPostgres, type PgListener } from './pg-listener.ts';

/** Shown in pg_stat_activity: the one LISTEN connection of a node's change feed. */
export const CHANGE_FEED_APPLICATION_NAME = 'tessera-changes';

const CHANNEL_PREFIX = 'tessera_';

/** The channel a topic's triggers NOTIFY on (migrations 0005, 0007, 0008). */
export const channelOf = (topic: string): string => `${CHANNEL_PREFIX}${topic}`;

/**
 * `db.changes` on PostgreSQL: every topic over one dedicated LISTEN connection
 * (pg-listener.ts: reconnects with backoff). While it is down nothing is heard, so
 * every listener hears EVERYTHING when it drops and again once it is back, since
 * the notifications sent in between were lost.
 */
export function createPgChangeFeed(db: Pick<PostgresDatabase, 'pool'>): ChangeFeed {
  let signals: SourceSignals | undefined;
  let listener: PgListener | undefined;
  let connected = false;
  // Topics whose LISTEN is on its way on a live connection: not heard yet.
  const pending = new Set<string>();

  function listenAlso(topic: string): void {
    const current = listener;
    if (!current) return;
    pending.add(topic);
    current.add(channelOf(topic)).then(
      () => {
        pending.delete(topic);
        // Whatever changed before the LISTEN went unheard.
        if (listener === current) signals?.deliver(topic, EVERYTHING);
      },
      (error: unknown) => signals?.report(error),
    );
  }

  const source: ChangeSource = {
    async open(next) {
      signals = next;
      const topics = next.topics();
      listener = await listenToPostgres(db, topics.map(channelOf), {
        applicationName: CHANGE_FEED_APPLICATION_NAME,
        onNotification(channel, payload) {
          if (channel.startsWith(CHANNEL_PREFIX)) {
            next.deliver(channel.slice(CHANNEL_PREFIX.length), payload);
          }
        },
        onConnected(again) {
          connected = true;
          // The first time, the feed tells everyone once `open` resolves.
          if (again) next.deliverToAll(EVERYTHING);
        },
        onDisconnected() {
          connected = false;
          next.deliverToAll(EVERYTHING);
        },
        onError: (error) => next.report(error),
      });
      // Topics that got their first listener while connecting.
      for (const topic of next.topics()) if (!topics.includes(topic)) listenAlso(topic);
    },
    async shut() {
      const last = listener;
      listener = undefined;
      signals = undefined;
      connected = false;
      pending.clear();
      await last?.close();
    },
    added: listenAlso,
    hears: (topic) => listener !== undefined && connected && !pending.has(topic),
    catchUp() {},
  };
  return createChangeFeed(source);
}
