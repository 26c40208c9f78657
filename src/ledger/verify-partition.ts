import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerBreak } from './ledger-break.ts';
import { partitionJudge } from './partition-judge.ts';
import { type VerifiedPage, verifiedPages } from './verified-pages.ts';
import type { CheckpointChecks } from './verify-checkpoints.ts';

export interface PartitionVerdict {
  readonly ok: boolean;
  readonly checked: number;
  readonly first_broken: LedgerBreak | null;
  /** Where to continue (the last checked position) when the budget ran out; null when done. */
  readonly next: number | null;
}

export interface PartitionRange {
  /** Check the events after this position (the previous page's `next`, or `from - 1`). */
  readonly after: number;
  /** ...up to and including this one; default: to the partition's end. */
  readonly to?: number | undefined;
  /** Check at most this many events (at least 1). */
  readonly budget: number;
  /** Events read per query. */
  readonly pageSize?: number | undefined;
  /** Told the events checked so far after each page (progress displays). */
  readonly onPage?: ((checked: number) => void) | undefined;
}

const PAGE_SIZE = 1000;

/**
 * Verifies a segment of one partition's chain: each event's stored hash must be
 * SHA-256(stored hash of the event before it ‖ canonical form), starting from the
 * stored hash of the partition's last event at or before `after` (GENESIS_HASH when
 * none). So every event is checked on its own, and a break is reported at the first
 * event whose stored hash does not match. At the partition's end, its last event must
 * be the one `ledger_heads` records.
 *
 * With `checkpoints`, every signed checkpoint in the segment is checked too, once the
 * chain has verified up to its position, against the hash there; and one past the
 * segment's last event (up to `to`, or anywhere when the walk reaches the end) names
 * an event the chain no longer holds. Those catch what the chain alone cannot: a
 * consistent rewrite of the rest of the chain, and a cut tail with its head moved back.
 * (partition-judge.ts judges; verify-partitions-parallel.ts does the same over ranges.)
 */
export async function verifyPartition(
  log: ChainLog,
  partition: string,
  range: PartitionRange,
  checkpoints?: CheckpointChecks,
): Promise<PartitionVerdict> {
  const judge = partitionJudge(log, partition, checkpoints, range.after);
  const walk = {
    after: range.after,
    upTo: range.to,
    pageSize: range.pageSize ?? PAGE_SIZE,
    budget: range.budget,
  };
  let page: VerifiedPage | undefined;
  let after = range.after;
  for await (page of verifiedPages(log, partition, walk)) {
    range.onPage?.(page.state.checked);
    const failed = await judge.stretch(page);
    if (failed) return broken(judge.checked(), failed);
    if (page.last) after = page.last.position;
  }
  const state = (page as VerifiedPage).state;
  if (!(page as VerifiedPage).end) {
    // The budget ran out: the next call continues after the last event checked.
    return { ok: true, checked: state.checked, first_broken: null, next: after };
  }
  const failed = await judge.end(range.to, { position: state.lastPosition, hash: state.previous });
  if (failed) return broken(judge.checked(), failed);
  return { ok: true, checked: state.checked, first_broken: null, next: null };
}

function broken(checked: number, first_broken: LedgerBreak): PartitionVerdict {
  return { ok: false, checked, first_broken, next: null };
}
