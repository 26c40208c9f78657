import type { ChainLog } from '../events/chain/chain-log.ts';
import type { PartitionSlice } from './verify-range.ts';

/** Range ends read at once: a read's cost (a walk of the index) is mostly per read. */
const ENDS_PER_READ = 256;

/**
 * The partitions' ranges in order, each (after, the position of the `rangeEvents`-th
 * event after it], and each partition's last one open-ended (to its end, however far
 * that has moved): together they cover every event of each partition, once. Range ends
 * are read `endsPerRead` at a time, as ranges are asked for. A partition whose `broken`
 * is set is cut no further. Resolves undefined after the last range.
 */
export function rangeCutter<Run extends { readonly partition: string; readonly broken: unknown }>(
  log: ChainLog,
  runs: readonly Run[],
  rangeEvents: number,
  endsPerRead = ENDS_PER_READ,
) {
  let index = 0;
  let after = 0;
  let ends: number[] = [];
  /** The partition has fewer events after the last of `ends` than a range holds. */
  let lastEndsRead = false;
  const nextPartition = () => {
    index += 1;
    after = 0;
    ends = [];
    lastEndsRead = false;
  };
  return async (): Promise<(PartitionSlice & { readonly run: Run }) | undefined> => {
    for (let run = runs[index]; run; run = runs[index]) {
      if (run.broken) {
        nextPartition();
        continue;
      }
      if (ends.length === 0 && !lastEndsRead) {
        ends = await log.rangeEnds(run.partition, after, rangeEvents, endsPerRead);
        lastEndsRead = ends.length < endsPerRead;
      }
      const from = after;
      const upTo = ends.shift();
      if (upTo === undefined) nextPartition();
      else after = upTo;
      return { run, partition: run.partition, after: from, upTo };
    }
    return undefined;
  };
}
