import { GENESIS_HASH } from '../events/chain/chain-hash.ts';
import type { ChainLog, ChainRow } from '../events/chain/chain-log.ts';
import {
  type ChainBreakReason,
  type ChainState,
  type HashedEvent,
  startChain,
  verifyEvents,
} from '../events/chain/verify-chain.ts';
import type { CheckpointBreak } from './checkpoints/verify-checkpoint.ts';
import { type CheckpointChecks, checkpointWalk } from './verify-checkpoints.ts';

/**
 * Why a partition's chain is broken (stable strings: the route and the CLI print them):
 * the chain's own reasons (verify-chain.ts), two the stored log adds, and the signed
 * checkpoints' (verify-checkpoint.ts):
 * - `unchained`: the event has no hash (NULL), past the backfill or in spite of it;
 * - `head_mismatch`: the walk reached the partition's end, and its last event is not
 *   the one `ledger_heads` records (the last event was deleted, or a head points at
 *   nothing); reported at the head's position;
 * - `checkpoint_mismatch`: a genuinely signed checkpoint the chain does not reach (a
 *   consistent rewrite, or a cut tail); reported at the first event after the last
 *   checkpoint that holds (see verify-checkpoints.ts);
 * - `checkpoint_signature`, `unknown_key`: a checkpoint the keys do not vouch for;
 *   reported at the checkpoint's position.
 */
export type LedgerBreakReason = ChainBreakReason | 'unchained' | 'head_mismatch' | CheckpointBreak;

export const LEDGER_BREAK_REASONS: readonly LedgerBreakReason[] = [
  'hash_mismatch',
  'out_of_order',
  'wrong_partition',
  'unchained',
  'head_mismatch',
  'checkpoint_mismatch',
  'checkpoint_signature',
  'unknown_key',
];

export interface LedgerBreak {
  readonly position: number;
  readonly reason: LedgerBreakReason;
  /** For a checkpoint's reasons: the position of the checkpoint that failed. */
  readonly checkpoint?: number;
}

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
 */
export async function verifyPartition(
  log: ChainLog,
  partition: string,
  range: PartitionRange,
  checkpoints?: CheckpointChecks,
): Promise<PartitionVerdict> {
  const link = range.after > 0 ? await log.linkBefore(partition, range.after + 1) : undefined;
  if (link && link.hash === null) return broken(0, link.position, 'unchained');
  let state = startChain({
    partition,
    after: link?.hash ?? GENESIS_HASH,
    afterPosition: link?.position,
  });
  const walk = checkpoints && checkpointWalk(log, partition, checkpoints);
  const pageSize = range.pageSize ?? PAGE_SIZE;
  let after = range.after;
  for (;;) {
    const limit = Math.min(pageSize, range.budget - state.checked);
    const rows = await log.readChain(partition, { after, upTo: range.to, limit });
    const checkedBefore = state.checked;
    const step = verifyRows(state, rows);
    state = step.state;
    range.onPage?.(state.checked);
    // The checkpoints among the events that verified: their stored hashes are the chain's.
    const verified = rows.slice(0, state.checked - checkedBefore);
    const lastVerified = verified.at(-1);
    if (walk && lastVerified) {
      const hashes = new Map(verified.map((row) => [row.position, row.hash as string]));
      const failed = await walk.check(after, lastVerified.position, (p) => hashes.get(p));
      if (failed) return broken(state.checked, failed.position, failed.reason, failed.checkpoint);
    }
    if (step.broken) return broken(state.checked, step.broken.position, step.broken.reason);
    const last = rows.at(-1);
    if (last) after = last.position;
    if (rows.length < limit) break;
    if (state.checked >= range.budget) {
      return { ok: true, checked: state.checked, first_broken: null, next: after };
    }
  }
  const head = await log.head(partition);
  const reachedEnd = range.to === undefined || head === undefined || head.position <= range.to;
  if (reachedEnd) {
    if (head && (state.lastPosition !== head.position || state.previous !== head.hash)) {
      return broken(state.checked, head.position, 'head_mismatch');
    }
    if (!head && state.lastPosition !== null) {
      return broken(state.checked, state.lastPosition, 'head_mismatch');
    }
  }
  // A checkpoint past the last event checked names an event that is no longer there.
  const failed = await walk?.check(after, reachedEnd ? undefined : range.to, () => undefined);
  if (failed) return broken(state.checked, failed.position, failed.reason, failed.checkpoint);
  return { ok: true, checked: state.checked, first_broken: null, next: null };
}

/** verifyEvents over the rows up to the first unchained one, which is then the break. */
export function verifyRows(
  state: ChainState,
  rows: readonly ChainRow[],
): { state: ChainState; broken: LedgerBreak | null } {
  const unchained = rows.findIndex((row) => row.hash === null);
  const chained = (unchained < 0 ? rows : rows.slice(0, unchained)) as readonly HashedEvent[];
  const next = verifyEvents(state, chained);
  if (next.first_broken) return { state: next, broken: next.first_broken };
  const row = rows[unchained];
  return { state: next, broken: row ? { position: row.position, reason: 'unchained' } : null };
}

function broken(
  checked: number,
  position: number,
  reason: LedgerBreakReason,
  checkpoint?: number,
): PartitionVerdict {
  const first_broken =
    checkpoint === undefined ? { position, reason } : { position, reason, checkpoint };
  return { ok: false, checked, first_broken, next: null };
}
