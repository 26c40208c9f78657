import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import { appendSettings, type EventStore, type EventStoreOptions } from '../store.ts';
import { appendInTransaction } from './append-in-transaction.ts';
import { createAppender } from './append-units.ts';
import { getEvent } from './get-event.ts';
import { headPosition } from './head-position.ts';
import { listEntities } from './list-entities.ts';
import { queryEvents } from './query-events.ts';
import { readLog } from './read-log.ts';
import { readStream } from './read-stream.ts';
import { stats } from './stats.ts';

/** The event store on PostgreSQL: hand-written SQL on the shared pool, one file per operation. */
export function createPostgresEventStore(
  db: PostgresDatabase,
  options: EventStoreOptions = {},
): EventStore {
  const { pool } = db;
  const settings = appendSettings(options);
  return {
    appendUnits: createAppender(pool, settings),
    appendInTransaction: (trx, units) => appendInTransaction(trx, units, settings),
    readStream: (tenantId, entityId, options) => readStream(pool, tenantId, entityId, options),
    getEvent: (tenantId, eventId) => getEvent(pool, tenantId, eventId),
    listEntities: (tenantId, options) => listEntities(pool, tenantId, options),
    query: (tenantId, query) => queryEvents(pool, tenantId, query),
    readLog: (tenantId, afterPosition, limit, filter) =>
      readLog(pool, tenantId, afterPosition, limit, filter),
    headPosition: () => headPosition(pool),
    stats: (tenantId) => stats(pool, tenantId),
  };
}
