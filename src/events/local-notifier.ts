import type { LogNotifier } from './log-notifier.ts';

/**
 * The notifier of a single process: the writer's own commits wake its subscribers.
 * Enough for SQLite, where only one process writes the file.
 */
export function createLocalNotifier(): LogNotifier {
  const listeners = new Set<(head: number) => void>();
  return {
    notify(head) {
      for (const listener of listeners) listener(head);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}
