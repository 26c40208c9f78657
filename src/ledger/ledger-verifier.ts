import { auditPartition } from '../audit/audit-entry.ts';
import type { ChainLog } from '../events/chain/chain-log.ts';
import { TesseraError } from '../platform/errors.ts';
import { LedgerErrors } from './errors.ts';
import type { LedgerBreakReason } from './ledger-break.ts';
import type { CheckpointChecks } from './verify-checkpoints.ts';
import {
  decodeCursor,
  encodeCursor,
  PARTITION_KINDS,
  type PartitionKind,
  type VerifyCursor,
} from './verify-cursor.ts';
import { verifyPartition } from './verify-partition.ts';

export interface VerifyQuery {
  /** The first position to check (default: the partition's first event). */
  readonly from?: number | undefined;
  /** The last position to check (default: the partition's end, where its head is checked too). */
  readonly to?: number | undefined;
  /** A previous answer's `next_cursor`. */
  readonly cursor?: string | undefined;
}

export interface TenantVerdict {
  readonly ok: boolean;
  readonly checked: number;
  readonly first_broken: {
    readonly partition: PartitionKind;
    readonly position: number;
    readonly reason: LedgerBreakReason;
    /** For a checkpoint's reasons: the position of the checkpoint that failed. */
    readonly checkpoint?: number;
  } | null;
  readonly next_cursor: string | null;
}

export interface LedgerVerifier {
  /** The tenant's log, then its audit trail; at most `ledger.verify_batch` events per call. */
  verifyTenant(tenantId: string, query: VerifyQuery): Promise<TenantVerdict>;
}

/**
 * The online verifier: each partition's chain and its signed checkpoints (`checkpoints`:
 * the server's store and every public key it ever signed with, retired ones included).
 */
export function createLedgerVerifier(
  log: ChainLog,
  settings: { verify_batch: number },
  checkpoints: CheckpointChecks,
) {
  const partitionOf = (tenantId: string, kind: PartitionKind) =>
    kind === 'events' ? tenantId : auditPartition(tenantId);
  return {
    async verifyTenant(tenantId, query) {
      const { from, to } = query;
      if (from !== undefined && to !== undefined && from > to) {
        throw new TesseraError(
          LedgerErrors.ledger_range_invalid,
          `from (${from}) is after to (${to}): nothing to verify.`,
        );
      }
      const start = (from ?? 1) - 1;
      const cursor: VerifyCursor = query.cursor
        ? decodeCursor(query.cursor)
        : { partition: 'events', after: start };
      let checked = 0;
      for (const kind of PARTITION_KINDS.slice(PARTITION_KINDS.indexOf(cursor.partition))) {
        const budget = settings.verify_batch - checked;
        const after = kind === cursor.partition ? cursor.after : start;
        // The budget ran out exactly at a partition's end: the next one starts on the next call.
        if (budget <= 0)
          return {
            ok: true,
            checked,
            first_broken: null,
            next_cursor: encodeCursor({ partition: kind, after }),
          };
        const verdict = await verifyPartition(
          log,
          partitionOf(tenantId, kind),
          { after, to, budget },
          checkpoints,
        );
        checked += verdict.checked;
        if (verdict.first_broken) {
          const first_broken = { partition: kind, ...verdict.first_broken };
          return { ok: false, checked, first_broken, next_cursor: null };
        }
        if (verdict.next !== null) {
          const next_cursor = encodeCursor({ partition: kind, after: verdict.next });
          return { ok: true, checked, first_broken: null, next_cursor };
        }
      }
      return { ok: true, checked, first_broken: null, next_cursor: null };
    },
  } satisfies LedgerVerifier;
}
