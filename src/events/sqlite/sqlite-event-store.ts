import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import { appendSettings, type EventStore, type EventStoreOptions } from '../store.ts';
import { appendInTransaction } from './append-in-transaction.ts';
import { appendUnits } from './append-units.ts';
import { getEvent } from './get-event.ts';
import { headPosition } from './head-position.ts';
import { listEntities } from './list-entities.ts';
import { queryEvents } from './query-events.ts';
import { readLog } from './read-log.ts';
import { readStream } from './read-stream.ts';
import { stats } from './stats.ts';

/** The event store on the embedded SQLite file: one SQL operation per file. */
export function createSqliteEventStore(
  db: SqliteDatabase,
  options: EventStoreOptions = {},
): EventStore {
  const settings = appendSettings(options);
  return {
    appendUnits: (units) => appendUnits(db, units, settings),
    appendInTransaction: (_trx, units) => appendInTransaction(db, units, settings),
    readStream: (tenantId, entityId, options) => readStream(db, tenantId, entityId, options),
    getEvent: (tenantId, eventId) => getEvent(db, tenantId, eventId),
    listEntities: (tenantId, options) => listEntities(db, tenantId, options),
    query: (tenantId, query) => queryEvents(db, tenantId, query),
    readLog: (tenantId, after, limit, filter) => readLog(db, tenantId, after, limit, filter),
    headPosition: () => headPosition(db),
    stats: (tenantId) => stats(db, tenantId),
  };
}
