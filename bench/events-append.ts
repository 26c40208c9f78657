import { openEvents } from '../src/events/open-events.ts';
import type { Engine } from '../src/storage/database.ts';
import { benchEvents, type Scratch, TENANT, tryOpenStore, withScratch } from './events-fixture.ts';
import { type Batch, rawInsertRate } from './events-raw.ts';

/** Events per second for one batch size; a string says why a path could not run. */
export interface AppendFigure {
  readonly engine: Engine;
  readonly batch: number;
  readonly raw: number;
  readonly store: number | string;
  readonly service: number | string;
}

/** Batches rotate over a few entities, so versions grow as they would in real streams. */
const ENTITIES = 10;

function batchesOf(total: number, size: number): Batch[] {
  return Array.from({ length: Math.max(1, Math.floor(total / size)) }, (_, k) => ({
    entity: `append-${k % ENTITIES}`,
    events: benchEvents(size, k * size),
  }));
}

const eventsIn = (batches: readonly Batch[]) =>
  batches.reduce((sum, batch) => sum + batch.events.length, 0);

async function storeRate(s: Scratch, batches: readonly Batch[]): Promise<number | string> {
  const store = tryOpenStore(s.db);
  if (typeof store === 'string') return store;
  const started = performance.now();
  for (const batch of batches) {
    await store.appendUnits([
      {
        tenant_id: TENANT,
        entities: [{ entity_id: batch.entity, expected_version: 'any', events: batch.events }],
      },
    ]);
  }
  return (eventsIn(batches) / (performance.now() - started)) * 1000;
}

async function serviceRate(s: Scratch, batches: readonly Batch[]): Promise<number | string> {
  const missing = tryOpenStore(s.db);
  if (typeof missing === 'string') return missing;
  const events = await openEvents(s.db, s.config);
  try {
    const started = performance.now();
    for (const batch of batches) {
      await events.service.appendToEntity(
        TENANT,
        batch.entity,
        batch.events,
        'any',
        (i) => `/${i}`,
      );
    }
    return (eventsIn(batches) / (performance.now() - started)) * 1000;
  } finally {
    await events.close();
  }
}

/** The better of two figures; a number always beats a reason. */
function best<T extends number | string>(a: T | undefined, b: T): T {
  if (a === undefined || typeof b === 'string') return a ?? b;
  return typeof a === 'string' || b > a ? b : a;
}

/**
 * In-process durable appends, one awaited call per batch, each path on its own fresh
 * database: the raw INSERT ceiling, `store.appendUnits` (one unit per call), and
 * `service.appendToEntity` (validation and the group committer on top). Paths take
 * turns for `rounds` rounds and keep their best: fsync times on a shared VM only
 * ever make a run slower, so the best is the steadiest estimate.
 */
export async function benchAppend(
  engine: Engine,
  total: number,
  sizes: readonly number[],
  rounds: number,
): Promise<AppendFigure[]> {
  const figures: AppendFigure[] = [];
  for (const size of sizes) {
    const batches = batchesOf(total, size);
    let raw: number | undefined;
    let store: number | string | undefined;
    let service: number | string | undefined;
    for (let round = 0; round < rounds; round++) {
      raw = best(raw, await withScratch(engine, (s) => rawInsertRate(s.db, batches)));
      store = best(store, await withScratch(engine, (s) => storeRate(s, batches)));
      service = best(service, await withScratch(engine, (s) => serviceRate(s, batches)));
    }
    figures.push({
      engine,
      batch: size,
      raw: raw as number,
      store: store as number | string,
      service: service as number | string,
    });
  }
  return figures;
}
