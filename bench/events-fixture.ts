import { defaultConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import type { NewEvent } from '../src/events/model.ts';
import { openEventStore } from '../src/events/open-event-store.ts';
import type { EventStore } from '../src/events/store.ts';
import { MIGRATIONS } from '../src/migrations/index.ts';
import type { Engine } from '../src/storage/database.ts';
import { migrateToLatest } from '../src/storage/migrate.ts';
import { type Database, openDatabase } from '../src/storage/open-database.ts';
import { testStorageConfig } from '../test/helpers/test-database.ts';

/** Shared by the event store benchmarks: the events, a scratch database, the tenant. */
export const TENANT = 'default';
export const EVENT_TYPES = ['order.placed', 'order.paid', 'order.shipped', 'order.closed'];

/** Payload JSON of ~150 bytes (`JSON.stringify(benchEvent(0).payload).length` is 150). */
export function benchEvent(n: number): NewEvent {
  return {
    event_type: EVENT_TYPES[n % EVENT_TYPES.length] as string,
    payload: {
      order_id: `o-${String(n).padStart(9, '0')}`,
      customer: `c-${String(n % 9973).padStart(6, '0')}`,
      amount_cents: 1000 + (n % 90_000),
      currency: 'EUR',
      note: 'x'.repeat(55),
    },
  };
}

export function benchEvents(count: number, offset: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => benchEvent(offset + i));
}

export interface Scratch {
  readonly db: Database;
  readonly config: Config;
  cleanup(): Promise<void>;
}

/** A fresh database migrated like production (same schema, indexes, durability settings). */
export async function openScratch(engine: Engine): Promise<Scratch> {
  const target = await testStorageConfig(engine);
  let db: Database | undefined;
  try {
    db = await openDatabase(target.storage);
    await migrateToLatest(db, MIGRATIONS);
  } catch (error) {
    await db?.close();
    await target.cleanup();
    throw error;
  }
  const opened = db;
  const base = defaultConfig();
  const config: Config = {
    ...base,
    storage: target.storage,
    logging: { ...base.logging, level: 'warn', requests: false },
    // The loads drive thousands of requests a second through one tenant and one IP:
    // rate limits would measure themselves refusing. Their own cost is measured
    // separately (bench/rate-limits.ts).
    rate_limits: { ...base.rate_limits, enabled: false },
  };
  return {
    db: opened,
    config,
    async cleanup() {
      await opened.close();
      await target.cleanup();
    },
  };
}

/** The engine's EventStore, or why there is none yet (the PostgreSQL store is in progress). */
export function tryOpenStore(db: Database): EventStore | string {
  try {
    return openEventStore(db);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs `fn` on a fresh scratch database and always removes it. */
export async function withScratch<T>(engine: Engine, fn: (s: Scratch) => Promise<T>): Promise<T> {
  const scratch = await openScratch(engine);
  try {
    return await fn(scratch);
  } finally {
    await scratch.cleanup();
  }
}
