import type { Database } from '../storage/open-database.ts';
import { createPostgresEventStore } from './postgres/postgres-event-store.ts';
import { createSqliteEventStore } from './sqlite/sqlite-event-store.ts';
import type { EventStore, EventStoreOptions } from './store.ts';

/** The composition root's one engine switch: the store for the database at hand. */
export function openEventStore(db: Database, options: EventStoreOptions = {}): EventStore {
  return db.engine === 'sqlite'
    ? createSqliteEventStore(db, options)
    : createPostgresEventStore(db, options);
}
