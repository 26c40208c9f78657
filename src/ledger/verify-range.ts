import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerBreak } from './ledger-break.ts';
import { type VerifiedLink, type VerifiedStretch, verifiedPages } from './verified-pages.ts';

/** A range of one partition: its events after `after`, up to `upTo` (to the end when undefined). */
export interface PartitionSlice {
  readonly partition: string;
  readonly after: number;
  readonly upTo?: number | undefined;
}

/** What the judge of a checkpoint at `position` needs to know of a range that reaches it. */
export interface CheckpointMark {
  readonly position: number;
  /** The verified chain's hash there; null when the range holds no verified event there. */
  readonly hash: string | null;
  /** How many of the range's verified events lie at or before it. */
  readonly checkedUpTo: number;
}

/**
 * A range's verdict, small enough to pass between threads however long the range:
 * a VerifiedStretch (verified-pages.ts) without its events, plus a mark at each of the
 * partition's checkpoints among the events that verified.
 */
export interface RangeVerdict {
  readonly checked: number;
  readonly last: VerifiedLink | null;
  readonly broken: LedgerBreak | null;
  readonly marks: readonly CheckpointMark[];
}

/** The positions of a partition's checkpoints in (after, upTo]. */
export type CheckpointPositions = (
  partition: string,
  after: number,
  upTo: number,
) => Promise<readonly number[]>;

/**
 * Verifies one range of a partition page by page (verifiedPages: from the stored hash
 * of the event before it), as a worker thread does for verify-partitions-parallel.ts.
 * With `checkpointsIn`, marks each checkpoint among the verified events, listed after
 * each page is verified.
 */
export async function verifyRange(
  log: ChainLog,
  slice: PartitionSlice,
  pageSize: number,
  checkpointsIn?: CheckpointPositions,
): Promise<RangeVerdict> {
  const { partition, after, upTo } = slice;
  const marks: CheckpointMark[] = [];
  let checked = 0;
  let last: VerifiedLink | null = null;
  let broken: LedgerBreak | null = null;
  for await (const page of verifiedPages(log, partition, { after, upTo, pageSize })) {
    if (checkpointsIn && page.last) {
      for (const position of await checkpointsIn(
        partition,
        last?.position ?? after,
        page.last.position,
      )) {
        const hash = page.hashAt(position) ?? null;
        marks.push({ position, hash, checkedUpTo: checked + page.checkedUpTo(position) });
      }
    }
    checked += page.checked;
    last = page.last ?? last;
    broken = page.broken;
  }
  return { checked, last, broken, marks };
}

/** A range's verdict as a stretch for partitionJudge. */
export function rangeStretch(verdict: RangeVerdict): VerifiedStretch {
  const marks = new Map(verdict.marks.map((mark) => [mark.position, mark]));
  return {
    checked: verdict.checked,
    last: verdict.last ?? undefined,
    broken: verdict.broken,
    hashAt: (position) => marks.get(position)?.hash ?? undefined,
    // A checkpoint the range did not list (signed while it was verified) counts all of it.
    checkedUpTo: (position) => marks.get(position)?.checkedUpTo ?? verdict.checked,
  };
}
