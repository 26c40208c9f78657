import type { ChainLog } from './chain-log.ts';

export interface BackfillProgress {
  /** Events chained so far by this run. */
  readonly chained: number;
  /** Events this run found to chain (counted once, at its start). */
  readonly total: number;
}

export interface BackfillOptions {
  /** Events per transaction: each holds the append lock this long. */
  readonly batch: number;
  readonly onProgress?: ((progress: BackfillProgress) => void) | undefined;
}

export interface BackfillResult extends BackfillProgress {
  /** Partitions left as they were: an event past their head already had a hash. */
  readonly blocked: readonly string[];
}

/**
 * Chains every event stored without a hash (before migration 0018, or appended by a
 * node that did not hash), partition by partition, oldest first, continuing from the
 * partition's `ledger_heads` row. Each batch is one transaction that writes the
 * events' hashes and the head together, so the state is the hash column and the heads
 * alone: a run killed between batches is continued by the next from the last commit.
 *
 * Only the tail past a head is chained: an unhashed event before it (someone set a
 * hash to NULL) is left for the verifier to report, never rewritten into the chain.
 * When nothing is unchained this costs one query (`unchainedTails`).
 */
export async function backfillChains(
  log: ChainLog,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const tails = await log.unchainedTails();
  let total = 0;
  for (const tail of tails) total += await log.countAfter(tail.partition, tail.after);
  let chained = 0;
  const blocked: string[] = [];
  if (tails.length > 0) options.onProgress?.({ chained, total });
  for (const { partition } of tails) {
    for (;;) {
      const batch = await log.chainNext(partition, options.batch);
      chained += batch.chained;
      if (batch.chained > 0) options.onProgress?.({ chained, total });
      if (batch.blocked) blocked.push(partition);
      if (batch.blocked || batch.chained < options.batch) break;
    }
  }
  return { chained, total, blocked };
}
