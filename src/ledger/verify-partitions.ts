import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerBreak } from './ledger-break.ts';
import type { CheckpointChecks } from './verify-checkpoints.ts';
import { verifyPartition } from './verify-partition.ts';

export interface PartitionsProgress {
  readonly partition: string;
  /** Events of this partition checked, of `partitionEvents`. */
  readonly checked: number;
  readonly partitionEvents: number;
  /** Events of every partition checked, of `totalEvents`. */
  readonly doneEvents: number;
  readonly totalEvents: number;
}

export interface PartitionsVerdict {
  readonly ok: boolean;
  readonly partitions: number;
  readonly checked: number;
  /** Every broken partition's first break, in partition order. */
  readonly broken: readonly (LedgerBreak & { readonly partition: string })[];
}

/** How a whole-partition verification goes, on this thread or on worker threads. */
export interface PartitionsOptions {
  readonly onProgress?: ((progress: PartitionsProgress) => void) | undefined;
  readonly checkpoints?: CheckpointChecks | undefined;
  /** Stops the verification (it then rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
}

/** How many events each partition holds, and all of them: the progress display's totals. */
export interface PartitionSizes {
  readonly of: ReadonlyMap<string, number>;
  readonly total: number;
}

const PAGE_SIZE = 5000;

/**
 * Verifies whole partitions, each to its end and its head, and every checkpoint of
 * each with `checkpoints` (the offline verifier's walk). A broken partition does not
 * stop the others: an auditor learns of each.
 */
export async function verifyPartitions(
  log: ChainLog,
  partitions: readonly string[],
  onProgress?: (progress: PartitionsProgress) => void,
  checkpoints?: CheckpointChecks,
): Promise<PartitionsVerdict> {
  const sizes = await partitionSizes(log, partitions);
  return verifyPartitionsHere(log, partitions, sizes, { onProgress, checkpoints });
}

export async function partitionSizes(
  log: ChainLog,
  partitions: readonly string[],
): Promise<PartitionSizes> {
  const of = new Map<string, number>();
  for (const partition of partitions) of.set(partition, await log.countAfter(partition, 0));
  return { of, total: [...of.values()].reduce((sum, n) => sum + n, 0) };
}

/** `verifyPartitions` on this thread, page after page, with the sizes counted already. */
export async function verifyPartitionsHere(
  log: ChainLog,
  partitions: readonly string[],
  sizes: PartitionSizes,
  options: PartitionsOptions,
): Promise<PartitionsVerdict> {
  const { onProgress, checkpoints, signal } = options;
  signal?.throwIfAborted();
  const broken: PartitionsVerdict['broken'][number][] = [];
  let checked = 0;
  for (const partition of partitions) {
    const partitionEvents = sizes.of.get(partition) ?? 0;
    const report = (inPartition: number) => {
      signal?.throwIfAborted();
      onProgress?.({
        partition,
        checked: inPartition,
        partitionEvents,
        doneEvents: checked + inPartition,
        totalEvents: sizes.total,
      });
    };
    report(0);
    const verdict = await verifyPartition(
      log,
      partition,
      { after: 0, budget: Number.MAX_SAFE_INTEGER, pageSize: PAGE_SIZE, onPage: report },
      checkpoints,
    );
    checked += verdict.checked;
    if (verdict.first_broken) broken.push({ partition, ...verdict.first_broken });
  }
  return { ok: broken.length === 0, partitions: partitions.length, checked, broken };
}
