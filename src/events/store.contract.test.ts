import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { openEventStore } from './open-event-store.ts';
import { eventStoreContract } from './store.contract.ts';

for (const engine of testEngines()) {
  eventStoreContract(engine, async (t) => {
    const { db, cleanup } = await openTestDatabase(engine);
    t.after(cleanup);
    await migrateToLatest(db, MIGRATIONS);
    return openEventStore(db);
  });
}
