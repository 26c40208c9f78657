import type { Database } from '../../storage/open-database.ts';
import { listenToPostgres } from '../../storage/postgres/pg-listener.ts';
import { outsideWritesSince } from '../../storage/sqlite/outside-writes.ts';
import type { IpFilterCache } from './ip-filter-cache.ts';

/** Where migration 0008's trigger announces every change to `ip_filters`. */
export const IP_FILTERS_CHANNEL = 'tessera_ip_filters';

export interface IpFilterWatcher {
  close(): Promise<void>;
}

/**
 * Keeps the node's IP filter cache in step with changes other writers make.
 * PostgreSQL: the trigger notifies at commit and every node re-reads; after a lost
 * connection too, since changes in between were heard by no one. SQLite: another
 * process (the CLI) committing moves the file's data version, and the next request
 * re-reads first. Both: a re-read every `refreshMs`, in case a notification was lost.
 */
export async function watchIpFilterChanges(
  db: Database,
  cache: Pick<IpFilterCache, 'reload' | 'checkOutsideWrites'>,
  options: { refreshMs: number; onError: (error: unknown) => void },
): Promise<IpFilterWatcher> {
  const reload = () => {
    cache.reload().catch(options.onError);
  };
  const timer = setInterval(reload, options.refreshMs);
  // The safety net never keeps a process alive on its own.
  timer.unref();
  if (db.engine === 'sqlite') {
    cache.checkOutsideWrites(outsideWritesSince(db));
    return { close: async () => clearInterval(timer) };
  }
  try {
    const listener = await listenToPostgres(db, [IP_FILTERS_CHANNEL], {
      applicationName: 'tessera-ip-filters',
      onNotification: reload,
      onConnected: (again) => {
        if (again) reload();
      },
      onError: options.onError,
    });
    return {
      async close() {
        clearInterval(timer);
        await listener.close();
      },
    };
  } catch (error) {
    clearInterval(timer);
    throw error;
  }
}
