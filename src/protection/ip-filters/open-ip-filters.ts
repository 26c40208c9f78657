import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../storage/open-database.ts';
import { createIpFilterCache, type IpFilterCache } from './ip-filter-cache.ts';
import { type IpFilterEnforcement, ipFilterEnforcement } from './ip-filter-enforcement.ts';
import { createIpFilterService, type IpFilterService } from './ip-filter-service.ts';
import { createIpFilterStore } from './ip-filter-store.ts';
import { type IpFilterWatcher, watchIpFilterChanges } from './ip-filter-watcher.ts';

/** IP filtering as one node runs it: the cache, its enforcement, and the audited service. */
export interface IpFilters {
  readonly cache: IpFilterCache;
  readonly enforcement: IpFilterEnforcement;
  readonly service: IpFilterService;
  /** Starts following other nodes' and processes' changes; close it with the app. */
  watch(refreshMs: number): Promise<IpFilterWatcher>;
}

export function openIpFilters(
  db: Database,
  audit: AuditLog,
  registry: Registry,
  log: FastifyBaseLogger,
): IpFilters {
  const cache = createIpFilterCache({
    readAll: () => createIpFilterStore(db).all(),
    onInvalid: (entry, error) =>
      log.error({ ip_filter: entry.id, error }, 'a stored IP filter is not a valid range: skipped'),
    onError: (error) => log.warn({ err: error }, 'reloading the IP filters failed'),
  });
  return {
    cache,
    enforcement: ipFilterEnforcement(cache, registry),
    service: createIpFilterService({
      db,
      audit,
      // The change is committed either way; a failed reload leaves it to the next one.
      changed: () =>
        cache
          .reload()
          .catch((error: unknown) =>
            log.warn({ err: error }, 'reloading the IP filters after a change failed'),
          ),
    }),
    watch: (refreshMs) =>
      watchIpFilterChanges(db, cache, {
        refreshMs,
        onError: (error) => log.warn({ err: error }, 'IP filter change listener problem'),
      }),
  };
}
