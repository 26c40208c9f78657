import { type ChangeFeed, EVERYTHING } from './change-feed.ts';
import { type ChangeSource, createChangeFeed, type SourceSignals } from './change-feed-core.ts';

/**
 * A change feed that learns of other writers only by asking: `readVersion` returns a
 * number that moves whenever someone else committed (SQLite's data version), and
 * every `catchUp` that finds it moved tells every topic EVERYTHING, once. With a
 * version that never moves it is the feed of a database only this process writes:
 * in-process announcements alone (unit tests of caches use it so).
 */
export function createPolledChangeFeed(readVersion: () => number): ChangeFeed {
  let signals: SourceSignals | undefined;
  let seen = 0;
  const source: ChangeSource = {
    async open(next) {
      seen = readVersion();
      signals = next;
    },
    async shut() {
      signals = undefined;
    },
    added() {},
    hears: () => signals !== undefined,
    catchUp() {
      const version = readVersion();
      if (version === seen) return;
      seen = version;
      signals?.deliverToAll(EVERYTHING);
    },
  };
  return createChangeFeed(source);
}
