import { type EntityChange, tenantKey } from '../plan-append.ts';

/**
 * The versions this process last wrote for recently appended entities. Only a
 * guess: another node may have appended since (or a restore rewound the log), so an
 * append planned on it is checked by its own write statement, which refuses to
 * commit when any entity's version is not the one planned on.
 */
export interface EntityVersionCache {
  get(key: string): number | undefined;
  /** After a commit: the entities' versions as written. */
  remember(entities: readonly EntityChange[]): void;
  forget(keys: Iterable<string>): void;
}

export function createEntityVersionCache(maxEntries = 100_000): EntityVersionCache {
  const versions = new Map<string, number>();
  return {
    get: (key) => versions.get(key),
    remember(entities) {
      for (const entity of entities) {
        const key = tenantKey(entity.tenant_id, entity.entity_id);
        // Re-inserted at the end: the entities appended to least recently go first.
        versions.delete(key);
        versions.set(key, entity.version);
      }
      for (const key of versions.keys()) {
        if (versions.size <= maxEntries) break;
        versions.delete(key);
      }
    },
    forget(keys) {
      for (const key of keys) versions.delete(key);
    },
  };
}
