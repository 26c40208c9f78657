import type { TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { appendInTransactionContract } from './append-in-transaction.contract.ts';
import { chainAppendContract } from './chain-append.contract.ts';
import { openEventStore } from './open-event-store.ts';
import { eventStoreContract } from './store.contract.ts';

async function openStoreOnDatabase(t: TestContext, engine: Engine) {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  return { db, store: openEventStore(db) };
}

for (const engine of testEngines()) {
  eventStoreContract(engine, async (t) => (await openStoreOnDatabase(t, engine)).store);
  appendInTransactionContract(engine, (t) => openStoreOnDatabase(t, engine));
  chainAppendContract(engine, (t) => openStoreOnDatabase(t, engine));
}
