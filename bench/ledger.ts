import { availableParallelism } from 'node:os';
import { backfillChains } from '../src/events/chain/backfill.ts';
import { createChainLinker } from '../src/events/chain/chain-linker.ts';
import { openChainLog } from '../src/events/chain/chain-log.ts';
import { generatedEventId } from '../src/events/event-id.ts';
import type { StoredEvent } from '../src/events/model.ts';
import { openEventStore } from '../src/events/open-event-store.ts';
import { verifyPartitions } from '../src/ledger/verify-partitions.ts';
import { verifyPartitionsInParallel } from '../src/ledger/verify-partitions-parallel.ts';
import type { Engine } from '../src/storage/database.ts';
import { benchEvents, TENANT, withScratch } from './events-fixture.ts';

/** The ledger's figures for one engine (issue 22). */
export interface LedgerFigures {
  readonly engine: Engine;
  readonly events: number;
  /** Store appends, 1,000-event batches, chain included (events/s, best round). */
  readonly append: number;
  /** The chain's own work on the same events, alone in this process (µs per event). */
  readonly chainUs: number;
  /** The backfill, re-chaining the whole log after its hashes were cleared (events/s). */
  readonly backfill: number;
  /** Verifying the whole log on one thread (`tessera ledger verify --threads 1`, events/s). */
  readonly verifyOneThread: number;
  /** ...and as `tessera ledger verify` does by default, on `threads` worker threads. */
  readonly verify: number;
  readonly threads: number;
}

const BATCH = 1000;

/** The events of `benchEvents` as the chain sees them once appended (ids, positions, times). */
function chainedForms(total: number): StoredEvent[] {
  const timestamp = new Date().toISOString();
  return benchEvents(total, 0).map((event, i) => ({
    id: generatedEventId(i + 1),
    tenant_id: TENANT,
    entity_id: `ledger-${Math.floor(i / BATCH) % 10}`,
    event_type: event.event_type,
    version: i,
    position: i + 1,
    timestamp,
    payload: event.payload,
    metadata: {},
  }));
}

/** Microseconds per event of chaining: canonical form and SHA-256, as the append does it. */
function chainMicros(events: readonly StoredEvent[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const linker = createChainLinker(new Map());
    const started = performance.now();
    for (const event of events) linker.link(event);
    best = Math.min(best, ((performance.now() - started) * 1000) / events.length);
  }
  return best;
}

/**
 * On a fresh database: `total` events appended through the store in 1,000-event
 * batches (`rounds` times, best kept, each on the log as it grows), then the whole
 * log's hashes cleared and re-chained by the backfill, then verified in full.
 */
export async function benchLedger(
  engine: Engine,
  total: number,
  rounds: number,
): Promise<LedgerFigures> {
  const chainUs = chainMicros(chainedForms(Math.min(total, 50_000)));
  return withScratch(engine, async ({ db, config }) => {
    const store = openEventStore(db);
    let append = 0;
    let appended = 0;
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      for (let done = 0; done < total; done += BATCH) {
        const events = benchEvents(BATCH, appended + done);
        await store.appendUnits([
          {
            tenant_id: TENANT,
            entities: [
              { entity_id: `ledger-${(done / BATCH) % 10}`, expected_version: 'any', events },
            ],
          },
        ]);
      }
      appended += total;
      append = Math.max(append, (total / (performance.now() - started)) * 1000);
    }
    // The backfill's work on a log as old as migration 0018: every hash and head gone.
    await db.kysely.deleteFrom('ledger_heads' as never).execute();
    await db.kysely
      .updateTable('events' as never)
      .set({ hash: null } as never)
      .execute();
    const log = openChainLog(db);
    const started = performance.now();
    const chained = await backfillChains(log, { batch: BATCH });
    const backfill = (chained.chained / (performance.now() - started)) * 1000;
    const partitions = await log.partitions();
    const verifyOneThread = await bestRate(rounds, () => verifyPartitions(log, partitions));
    // The CLI's default: one thread per core, each reading its own ranges.
    const threads = Math.min(16, availableParallelism());
    const verify = await bestRate(rounds, () =>
      verifyPartitionsInParallel(config.storage, log, partitions, { threads }),
    );
    return {
      engine,
      events: appended,
      append,
      chainUs,
      backfill,
      verifyOneThread,
      verify,
      threads,
    };
  });
}

/** Events/s of the best of `rounds` verifications of the whole log (each must find it intact). */
async function bestRate(
  rounds: number,
  verify: () => Promise<{ ok: boolean; checked: number }>,
): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const verdict = await verify();
    if (!verdict.ok) throw new Error(`the bench log did not verify: ${JSON.stringify(verdict)}`);
    best = Math.max(best, (verdict.checked / (performance.now() - started)) * 1000);
  }
  return best;
}
