import type { SqliteDatabase } from './open-sqlite.ts';

/**
 * A check for a per-node cache on SQLite: true once each time another process (the
 * CLI, a second server) has committed to the file since the previous call, false
 * otherwise. Reads the file's data version: microseconds, and never waits behind a
 * write transaction. Each cache takes its own check, so each sees every change once.
 */
export function outsideWritesSince(db: Pick<SqliteDatabase, 'dataVersion'>): () => boolean {
  let seen = db.dataVersion();
  return () => {
    const version = db.dataVersion();
    if (version === seen) return false;
    seen = version;
    return true;
  };
}
