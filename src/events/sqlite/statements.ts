import type { DatabaseSync, StatementSync } from 'node:sqlite';

const caches = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

/**
 * A prepared statement for `sql` on this connection, compiled once. The event hot
 * path runs the same few statements millions of times; compiling each time would
 * cost more than executing.
 */
export function prepared(raw: DatabaseSync, sql: string): StatementSync {
  let cache = caches.get(raw);
  if (!cache) {
    cache = new Map();
    caches.set(raw, cache);
  }
  let statement = cache.get(sql);
  if (!statement) {
    statement = raw.prepare(sql);
    cache.set(sql, statement);
  }
  return statement;
}
