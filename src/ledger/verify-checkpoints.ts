import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerCheckpointRow } from '../storage/tables.ts';
import type { CheckpointStore } from './checkpoints/checkpoint-store.ts';
import {
  type CheckpointBreak,
  type CheckpointKeyring,
  verifyCheckpoint,
} from './checkpoints/verify-checkpoint.ts';

/**
 * What a verifier checks a partition's signed checkpoints with: where they are stored
 * (the database or backup being verified) and the public keys it trusts (the server's,
 * retired ones included, or a JWKS an auditor brought).
 */
export interface CheckpointChecks {
  readonly store: Pick<CheckpointStore, 'list' | 'before'>;
  readonly keyring: CheckpointKeyring;
}

/** A checkpoint that does not hold, and where the chain is reported broken because of it. */
export interface CheckpointBreakAt {
  readonly position: number;
  readonly reason: CheckpointBreak;
  /** The position of the checkpoint that failed. */
  readonly checkpoint: number;
}

const PAGE_SIZE = 500;

/**
 * Checks one partition's checkpoints alongside a walk of its chain, segment by
 * segment in position order. Each segment's events must have verified as a chain
 * first: a checkpoint whose signature holds but whose hash differs from the chain's
 * at its position then means the chain was rewritten consistently after the last
 * checkpoint that still holds, and no later than the failing one.
 */
export function checkpointWalk(log: ChainLog, partition: string, checks: CheckpointChecks) {
  /** The last checkpoint of this walk that held: the chain up to it is the signed one. */
  let lastGood: number | undefined;

  /**
   * A consistent rewrite is reported at the first event after the last checkpoint
   * that holds (nothing before it can have changed; anything from it on may have).
   * Before this walk's first checkpoint, the one before it is checked against the
   * stored hash at its position (one query, one signature); with none that holds,
   * the partition's first event.
   */
  async function mismatchAt(failed: LedgerCheckpointRow): Promise<number> {
    let good = lastGood;
    if (good === undefined) {
      const previous = await checks.store.before(partition, failed.position);
      if (previous) {
        const link = await log.linkBefore(partition, previous.position + 1);
        const hash = link?.position === previous.position ? link.hash : null;
        if (hash !== null && (await verifyCheckpoint(previous, checks.keyring, hash)).ok) {
          good = previous.position;
        }
      }
    }
    const [next] = await log.readChain(partition, { after: good ?? 0, limit: 1 });
    // No event after it (the tail was cut right there): the failing checkpoint names the spot.
    return next && next.position <= failed.position ? next.position : failed.position;
  }

  return {
    /**
     * Checks the partition's checkpoints in (after, upTo] (to the end when `upTo` is
     * undefined). `hashAt` gives the verified chain's hash at a position, undefined
     * where the partition holds no event: a checkpoint there names an event that is
     * gone (deleted, or the tail cut). Stops at the first that does not hold.
     */
    async check(
      after: number,
      upTo: number | undefined,
      hashAt: (position: number) => string | undefined,
    ): Promise<CheckpointBreakAt | null> {
      let cursor = after;
      for (;;) {
        const rows = await checks.store.list(partition, { after: cursor, upTo, limit: PAGE_SIZE });
        for (const row of rows) {
          const hash = hashAt(row.position);
          const verdict = await verifyCheckpoint(row, checks.keyring, hash);
          if (!verdict.ok && verdict.reason !== 'checkpoint_mismatch') {
            // Not the server's statement: nothing can be concluded from it but that.
            return { position: row.position, reason: verdict.reason, checkpoint: row.position };
          }
          if (!verdict.ok || hash === undefined) {
            const position = await mismatchAt(row);
            return { position, reason: 'checkpoint_mismatch', checkpoint: row.position };
          }
          lastGood = row.position;
        }
        const last = rows.at(-1);
        if (!last || rows.length < PAGE_SIZE) return null;
        cursor = last.position;
      }
    },
  };
}

export type CheckpointWalk = ReturnType<typeof checkpointWalk>;
