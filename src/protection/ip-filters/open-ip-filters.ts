import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../storage/open-database.ts';
import { createIpFilterCache, type IpFilterCache } from './ip-filter-cache.ts';
import { type IpFilterEnforcement, ipFilterEnforcement } from './ip-filter-enforcement.ts';
import {
  createIpFilterService,
  type IpFilterService,
  type LockTenant,
} from './ip-filter-service.ts';
import { createIpFilterStore } from './ip-filter-store.ts';

/** IP filtering as one node runs it: the cache, its enforcement, and the audited service. */
export interface IpFilters {
  readonly cache: IpFilterCache;
  readonly enforcement: IpFilterEnforcement;
  readonly service: IpFilterService;
  /** Stops the periodic re-read and following the change feed; close it with the app. */
  close(): void;
}

/**
 * The cache follows `db.changes` (which the app starts) and, as a safety net in case
 * a notification was lost, re-reads every `refreshMs`.
 */
export function openIpFilters(
  db: Database,
  audit: AuditLog,
  lockTenant: LockTenant,
  registry: Registry,
  log: FastifyBaseLogger,
  refreshMs: number,
): IpFilters {
  const cache = createIpFilterCache({
    readAll: () => createIpFilterStore(db).all(),
    changes: db.changes,
    onInvalid: (entry, error) =>
      log.error({ ip_filter: entry.id, error }, 'a stored IP filter is not a valid range: skipped'),
    onError: (error) => log.warn({ err: error }, 'reloading the IP filters failed'),
  });
  const timer = setInterval(() => {
    cache
      .reload()
      .catch((error: unknown) =>
        log.warn({ err: error }, 'the periodic re-read of the IP filters failed'),
      );
  }, refreshMs);
  // The safety net never keeps a process alive on its own.
  timer.unref();
  return {
    cache,
    enforcement: ipFilterEnforcement(cache, registry),
    service: createIpFilterService({
      db,
      audit,
      lockTenant,
      // The change is committed either way; a failed reload leaves it to the next one.
      changed: () =>
        cache
          .reload()
          .catch((error: unknown) =>
            log.warn({ err: error }, 'reloading the IP filters after a change failed'),
          ),
    }),
    close() {
      clearInterval(timer);
      cache.close();
    },
  };
}
