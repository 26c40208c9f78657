import type { SqliteDatabase } from '../storage/sqlite/open-sqlite.ts';
import { outsideWritesSince } from '../storage/sqlite/outside-writes.ts';
import type { CredentialCache } from './credential-cache.ts';

/**
 * Turns `cache` on for a server on SQLite. This process's own changes reach it
 * through the stores; anything another process commits to the file (the CLI
 * revoking a key, a second server) moves the file's data version, which is read
 * before every lookup: a moved version drops everything the cache held. That read
 * takes microseconds and, unlike a lookup, never waits behind a write transaction.
 */
export function cacheCredentialsOnSqlite(db: SqliteDatabase, cache: CredentialCache): void {
  cache.setActive(true, outsideWritesSince(db));
}
