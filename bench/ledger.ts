import { availableParallelism } from 'node:os';
import { sql } from 'kysely';
import { backfillChains } from '../src/events/chain/backfill.ts';
import { createChainLinker } from '../src/events/chain/chain-linker.ts';
import { openChainLog } from '../src/events/chain/chain-log.ts';
import { generatedEventId } from '../src/events/event-id.ts';
import type { StoredEvent } from '../src/events/model.ts';
import { openEventStore } from '../src/events/open-event-store.ts';
import type { EventStore } from '../src/events/store.ts';
import { verifyPartitions } from '../src/ledger/verify-partitions.ts';
import { verifyPartitionsInParallel } from '../src/ledger/verify-partitions-parallel.ts';
import type { Engine } from '../src/storage/database.ts';
import { benchEvents, TENANT, withScratch } from './events-fixture.ts';

/** The ledger's figures for one engine (issue 22). */
export interface LedgerFigures {
  readonly engine: Engine;
  readonly events: number;
  /** Store appends, 1,000-event batches, chain included (events/s, median of the rounds). */
  readonly append: number;
  /** The same appends through a store that does not chain (events/s, median). */
  readonly appendWithoutChain: number;
  readonly appendRounds: number;
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
 * batches (`appendRounds` times, each on the log as it grows), each round paired with
 * the same appends on a second fresh database through a store that does not chain
 * (EventStoreOptions.chain: false), the pair's order alternating, so that both logs
 * grow alike and drift on the machine falls on both. Then the first log's hashes are
 * cleared and re-chained by the backfill, and it is verified in full (best of
 * `verifyRounds`).
 */
export async function benchLedger(
  engine: Engine,
  total: number,
  appendRounds: number,
  verifyRounds: number,
): Promise<LedgerFigures> {
  const chainUs = chainMicros(chainedForms(Math.min(total, 50_000)));
  return withScratch(engine, async ({ db, config }) => {
    const chained = openEventStore(db);
    const rates = await withScratch(engine, async (plain) => {
      const unchained = openEventStore(plain.db, { chain: false });
      const withChain: number[] = [];
      const withoutChain: number[] = [];
      for (let round = 0; round < appendRounds; round++) {
        const offset = round * total;
        if (round % 2 === 1) withoutChain.push(await appendRate(unchained, total, offset));
        withChain.push(await appendRate(chained, total, offset));
        if (round % 2 === 0) withoutChain.push(await appendRate(unchained, total, offset));
      }
      return { withChain, withoutChain };
    });
    // The backfill's work on a log as old as migration 0018: every hash and head gone.
    const appended = total * appendRounds;
    await db.kysely.deleteFrom('ledger_heads' as never).execute();
    await db.kysely
      .updateTable('events' as never)
      .set({ hash: null } as never)
      .execute();
    // Statistics, as autovacuum gathers them soon after a load (and a restore runs
    // ANALYZE): without them the planner sorts the rest of a partition for every page
    // the backfill and the one-thread verifier read, which no served database sees.
    if (engine === 'postgres') await sql`ANALYZE events`.execute(db.kysely);
    const log = openChainLog(db);
    const started = performance.now();
    const backfilled = await backfillChains(log, { batch: BATCH });
    const backfill = (backfilled.chained / (performance.now() - started)) * 1000;
    const partitions = await log.partitions();
    const verifyOneThread = await bestRate(verifyRounds, () => verifyPartitions(log, partitions));
    // The CLI's default: one thread per core, each reading its own ranges.
    const threads = Math.min(16, availableParallelism());
    const verify = await bestRate(verifyRounds, () =>
      verifyPartitionsInParallel(config.storage, log, partitions, { threads }),
    );
    return {
      engine,
      events: appended,
      append: median(rates.withChain),
      appendWithoutChain: median(rates.withoutChain),
      appendRounds,
      chainUs,
      backfill,
      verifyOneThread,
      verify,
      threads,
    };
  });
}

/** Events/s of `total` events appended to `store`, 1,000 per call, numbered from `offset`. */
async function appendRate(store: EventStore, total: number, offset: number): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < total; done += BATCH) {
    await store.appendUnits([
      {
        tenant_id: TENANT,
        entities: [
          {
            entity_id: `ledger-${(done / BATCH) % 10}`,
            expected_version: 'any',
            events: benchEvents(BATCH, offset + done),
          },
        ],
      },
    ]);
  }
  return (total / (performance.now() - started)) * 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
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
