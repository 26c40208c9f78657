import type { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';

const SQLITE_BUSY = 5;
const BACKOFF_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

export function isBusyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return false;
  const { errcode } = error;
  // Extended codes (SQLITE_BUSY_RECOVERY, ...) keep the primary code in the low byte.
  return typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY;
}

/**
 * `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails later
 * on a read-to-write lock upgrade. SQLite's own busy handler would wait for another
 * holder by blocking the thread, which freezes the whole event loop (and deadlocks
 * when the holder is another handle in this same process), so while the write lock
 * is taken we retry with async back-off up to `timeoutMs` instead.
 */
export async function beginImmediate(raw: DatabaseSync, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  raw.exec('PRAGMA busy_timeout = 0');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        raw.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        const remaining = deadline - Date.now();
        if (!isBusyError(error) || remaining <= 0) throw error;
        await sleep(Math.min(BACKOFF_MS[attempt] ?? 100, remaining));
      }
    }
  } finally {
    raw.exec(`PRAGMA busy_timeout = ${Math.trunc(timeoutMs)}`);
  }
}
