import type { ChainBreakReason } from '../events/chain/verify-chain.ts';
import type { CheckpointBreak } from './checkpoints/verify-checkpoint.ts';

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
