import { GENESIS_HASH } from '../events/chain/chain-hash.ts';
import type { ChainLog, ChainRow } from '../events/chain/chain-log.ts';
import {
  type ChainState,
  type HashedEvent,
  startChain,
  verifyEvents,
} from '../events/chain/verify-chain.ts';
import type { LedgerBreak } from './ledger-break.ts';

/** A verified event's place in its chain: its position and its (verified) hash. */
export interface VerifiedLink {
  readonly position: number;
  readonly hash: string;
}

/**
 * What verifying a stretch of one partition's chain found: a page of a walk on this
 * thread, or a range verified on a worker thread (verify-range.ts). Its events that
 * verified are a prefix of it, in position order; their stored hashes are the chain's.
 */
export interface VerifiedStretch {
  /** How many of its events verified. */
  readonly checked: number;
  /** The last of them; undefined when none did. */
  readonly last: VerifiedLink | undefined;
  /** Its first event that does not verify (a chain reason, or `unchained`), or null. */
  readonly broken: LedgerBreak | null;
  /** The verified chain's hash at a position; undefined where none of its verified events is. */
  hashAt(position: number): string | undefined;
  /** How many of its verified events lie at or before a position. */
  checkedUpTo(position: number): number;
}

/** One page of a walk: the stretch, and the chain's state after it. */
export interface VerifiedPage extends VerifiedStretch {
  readonly state: ChainState;
  /** The page held fewer events than asked for: the walk reached its end (or `upTo`). */
  readonly end: boolean;
}

export interface PageWalk {
  /** Verify the events after this position... */
  readonly after: number;
  /** ...up to and including this one (default: to the partition's end)... */
  readonly upTo?: number | undefined;
  /** ...this many per read... */
  readonly pageSize: number;
  /** ...and at most this many in all (default: no limit). */
  readonly budget?: number | undefined;
}

/**
 * Reads and verifies a stretch of one partition's chain page by page, holding one
 * page at a time, starting from the stored hash of the partition's last event at or
 * before `after` (GENESIS_HASH when none), exactly as if the whole partition had been
 * verified up to there: every event is checked against the stored hash before it.
 * Yields each page's verdict; stops after a break, at the end, or with the budget spent.
 */
export async function* verifiedPages(
  log: ChainLog,
  partition: string,
  walk: PageWalk,
): AsyncGenerator<VerifiedPage> {
  const link = walk.after > 0 ? await log.linkBefore(partition, walk.after + 1) : undefined;
  if (link && link.hash === null) {
    // Nothing to chain from: the stretch is broken before its first event.
    const broken: LedgerBreak = { position: link.position, reason: 'unchained' };
    yield { ...verifyPage(startChain({ partition }), []), broken };
    return;
  }
  let state = startChain({
    partition,
    after: link?.hash ?? GENESIS_HASH,
    afterPosition: link?.position,
  });
  const budget = walk.budget ?? Number.POSITIVE_INFINITY;
  let after = walk.after;
  for (;;) {
    const limit = Math.min(walk.pageSize, budget - state.checked);
    const rows = await log.readChain(partition, { after, upTo: walk.upTo, limit });
    const page = verifyPage(state, rows, rows.length < limit);
    state = page.state;
    yield page;
    const last = rows.at(-1);
    if (page.broken || page.end || !last || state.checked >= budget) return;
    after = last.position;
  }
}

/**
 * verifyEvents over a page of rows up to its first unchained one, which is then the
 * break. `end`: whether the page is the last of its walk.
 */
export function verifyPage(state: ChainState, rows: readonly ChainRow[], end = true): VerifiedPage {
  const unchained = rows.findIndex((row) => row.hash === null);
  const chained = (unchained < 0 ? rows : rows.slice(0, unchained)) as readonly HashedEvent[];
  const next = verifyEvents(state, chained);
  const checked = next.checked - state.checked;
  const row = rows[unchained];
  const broken =
    next.first_broken ?? (row ? { position: row.position, reason: 'unchained' as const } : null);
  const lastRow = chained[checked - 1];
  // The verified rows are chained[0, checked), in position order: found by bisection.
  const verifiedUpTo = (position: number) => {
    let low = 0;
    let high = checked;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((chained[middle] as HashedEvent).position <= position) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  return {
    state: next,
    end,
    checked,
    last: lastRow && { position: lastRow.position, hash: lastRow.hash },
    broken,
    hashAt(position) {
      const found = chained[verifiedUpTo(position) - 1];
      return found?.position === position ? found.hash : undefined;
    },
    checkedUpTo: verifiedUpTo,
  };
}
