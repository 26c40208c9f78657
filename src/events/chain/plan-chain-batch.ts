import { chainHash, GENESIS_HASH } from './chain-hash.ts';
import type { ChainRow } from './chain-log.ts';
import type { LedgerHead } from './ledger-heads.ts';

export interface ChainBatchPlan {
  /** The hashes to store, by position. */
  readonly hashes: readonly { readonly position: number; readonly hash: string }[];
  /** The partition's head after them (unchanged when nothing is chained). */
  readonly head: LedgerHead | undefined;
  readonly blocked: boolean;
}

/**
 * Chains `rows` (the partition's events just after its head, in position order) from
 * the head, or from GENESIS_HASH when it has none. Stops at the first event that
 * already holds a hash: past the head every event should be unchained, and
 * rewriting one that is not would erase what a verification must find.
 */
export function planChainBatch(
  partition: string,
  head: LedgerHead | undefined,
  rows: readonly ChainRow[],
): ChainBatchPlan {
  const hashes: { position: number; hash: string }[] = [];
  let previous = head?.hash ?? GENESIS_HASH;
  let blocked = false;
  for (const row of rows) {
    if (row.hash !== null) {
      blocked = true;
      break;
    }
    previous = chainHash(previous, row);
    hashes.push({ position: row.position, hash: previous });
  }
  const last = hashes.at(-1);
  const moved: LedgerHead | undefined = last
    ? {
        partition,
        position: last.position,
        hash: last.hash,
        chained: (head?.chained ?? 0) + hashes.length,
      }
    : head;
  return { hashes, head: moved, blocked };
}
