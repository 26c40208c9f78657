import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerBreak } from './ledger-break.ts';
import type { VerifiedStretch } from './verified-pages.ts';
import { type CheckpointChecks, checkpointWalk } from './verify-checkpoints.ts';

/** Where the verified chain of a partition ends: its last event (null: none) and hash. */
export interface ChainTip {
  readonly position: number | null;
  readonly hash: string;
}

/**
 * Judges one partition's chain from its verified stretches, given in position order
 * (pages of a walk on this thread, or ranges verified side by side on worker threads,
 * as each is reached): every signed checkpoint among a stretch's verified events
 * against the chain's hash there (with `checkpoints`), then the stretch's own break;
 * at the end, the head and the checkpoints past the last event. So a checkpoint is
 * only judged once every event up to it has verified, whoever verified them.
 *
 * `after`: the position the verification starts after (0 for a whole partition).
 */
export function partitionJudge(
  log: ChainLog,
  partition: string,
  checkpoints: CheckpointChecks | undefined,
  after: number,
) {
  const walk = checkpoints && checkpointWalk(log, partition, checkpoints);
  /** The checkpoints up to here are judged. */
  let judgedTo = after;
  let checked = 0;
  return {
    /**
     * Events verified so far. When a checkpoint fails, those up to it: so the count
     * does not depend on how the chain was cut into pages or ranges.
     */
    checked: () => checked,

    /** The next stretch: its checkpoints, then its break. Null when all of it holds. */
    async stretch(stretch: VerifiedStretch): Promise<LedgerBreak | null> {
      const before = checked;
      checked += stretch.checked;
      const { last } = stretch;
      if (walk && last) {
        const failed = await walk.check(judgedTo, last.position, (p) => stretch.hashAt(p));
        if (failed) {
          checked = before + stretch.checkedUpTo(failed.checkpoint);
          return failed;
        }
      }
      if (stretch.broken) return stretch.broken;
      if (last) judgedTo = last.position;
      return null;
    },

    /**
     * Once the verification reached its end (`to`, or the partition's end when
     * undefined) at `tip`: there, the partition's last event must be the one
     * `ledger_heads` records, and a checkpoint past it names an event that is gone.
     */
    async end(to: number | undefined, tip: ChainTip): Promise<LedgerBreak | null> {
      const head = await log.head(partition);
      const reachedEnd = to === undefined || head === undefined || head.position <= to;
      if (reachedEnd) {
        if (head && (tip.position !== head.position || tip.hash !== head.hash)) {
          return { position: head.position, reason: 'head_mismatch' };
        }
        if (!head && tip.position !== null) {
          return { position: tip.position, reason: 'head_mismatch' };
        }
      }
      const failed = await walk?.check(judgedTo, reachedEnd ? undefined : to, () => undefined);
      return failed ?? null;
    },
  };
}

export type PartitionJudge = ReturnType<typeof partitionJudge>;
