import type { Database } from '../../storage/open-database.ts';
import { listenToPostgres } from '../../storage/postgres/pg-listener.ts';
import { outsideWritesSince } from '../../storage/sqlite/outside-writes.ts';
import type { QuotaService } from './quota-service.ts';

/** Where migration 0007's triggers announce a tenant whose quotas or plan changed. */
export const QUOTAS_CHANNEL = 'tessera_quotas';

export interface QuotaWatcher {
  close(): Promise<void>;
}

/**
 * Keeps the node's quota cache in step with changes other writers make. PostgreSQL:
 * the triggers notify at commit and every node forgets that tenant; after a lost
 * connection everything is forgotten, since changes in between were heard by no one
 * (the cache's TTL bounds staleness meanwhile). SQLite: another process (the CLI)
 * committing moves the file's data version, which drops everything.
 */
export async function watchQuotaChanges(
  db: Database,
  quotas: Pick<QuotaService, 'cache' | 'forget'>,
  onError: (error: unknown) => void,
): Promise<QuotaWatcher> {
  if (db.engine === 'sqlite') {
    quotas.cache.checkOutsideWrites(outsideWritesSince(db));
    return { close: async () => {} };
  }
  return listenToPostgres(db, [QUOTAS_CHANNEL], {
    applicationName: 'tessera-quotas',
    onNotification(_channel, tenantId) {
      if (tenantId) quotas.forget(tenantId);
      else quotas.cache.clear();
    },
    onConnected: () => quotas.cache.clear(),
    onError,
  });
}
