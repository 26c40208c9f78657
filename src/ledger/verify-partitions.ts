import type { ChainLog } from '../events/chain/chain-log.ts';
import type { CheckpointChecks } from './verify-checkpoints.ts';
import { type LedgerBreak, verifyPartition } from './verify-partition.ts';

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
  const sizes = new Map<string, number>();
  for (const partition of partitions) sizes.set(partition, await log.countAfter(partition, 0));
  const totalEvents = [...sizes.values()].reduce((sum, n) => sum + n, 0);
  const broken: PartitionsVerdict['broken'][number][] = [];
  let checked = 0;
  for (const partition of partitions) {
    const partitionEvents = sizes.get(partition) ?? 0;
    const report = (inPartition: number) =>
      onProgress?.({
        partition,
        checked: inPartition,
        partitionEvents,
        doneEvents: checked + inPartition,
        totalEvents,
      });
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
