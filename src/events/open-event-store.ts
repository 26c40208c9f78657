import type { Database } from '../storage/open-database.ts';
import { createPostgresEventStore } from './postgres/postgres-event-store.ts';
import { createSqliteEventStore } from './sqlite/sqlite-event-store.ts';
import type { EventStore, EventStoreOptions } from './store.ts';

/** The event store for the database at hand: storage picks the engine's implementation. */
export function openEventStore(db: Database, options: EventStoreOptions = {}): EventStore {
  return db.byEngine({
    sqlite: (sqlite) => createSqliteEventStore(sqlite, options),
    postgres: (postgres) => createPostgresEventStore(postgres, options),
  });
}
