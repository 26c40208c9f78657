import type { ChangeFeed } from '../change-feed.ts';
import { createPolledChangeFeed } from '../polled-change-feed.ts';

/**
 * `db.changes` on SQLite. This process's writes are announced by `publish`; another
 * process (the CLI, a second server) committing to the file moves its data version,
 * which `catchUp` reads before a cache trusts what it holds: EVERYTHING, on every
 * topic, since the version says nothing about what changed. The check takes
 * microseconds and, unlike a query, never waits behind a write transaction.
 */
export function createSqliteChangeFeed(dataVersion: () => number): ChangeFeed {
  return createPolledChangeFeed(dataVersion);
}
