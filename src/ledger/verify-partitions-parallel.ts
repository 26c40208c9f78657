import type { Config } from '../config/schema.ts';
import { GENESIS_HASH } from '../events/chain/chain-hash.ts';
import type { ChainLog } from '../events/chain/chain-log.ts';
import type { LedgerBreak } from './ledger-break.ts';
import { type ChainTip, type PartitionJudge, partitionJudge } from './partition-judge.ts';
import { rangeCutter } from './range-cutter.ts';
import {
  type PartitionSizes,
  type PartitionsOptions,
  type PartitionsVerdict,
  partitionSizes,
  verifyPartitionsHere,
} from './verify-partitions.ts';
import { type RangeVerdict, rangeStretch } from './verify-range.ts';
import { startVerifyThreads, type VerifyThreads } from './verify-threads.ts';

export interface ParallelOptions extends PartitionsOptions {
  /** Worker threads at most; 1 verifies on this thread (`verifyPartitions`). */
  readonly threads: number;
  /** Events per range (default 5,000): each thread holds one range's page at a time. */
  readonly rangeEvents?: number | undefined;
  /**
   * Logs of fewer events are verified on this thread, where starting threads would
   * cost more than it saves (default 50,000).
   */
  readonly minEvents?: number | undefined;
}

const RANGE_EVENTS = 5000;
const MIN_EVENTS = 50_000;
/** Ranges handed out ahead of the one judged next, per thread: enough to keep each busy. */
const AHEAD_PER_THREAD = 4;

/** One partition as its ranges come back: judged in position order. */
interface PartitionRun {
  readonly partition: string;
  readonly events: number;
  readonly judge: PartitionJudge;
  tip: ChainTip;
  broken: LedgerBreak | null;
}

interface Range {
  readonly run: PartitionRun;
  /** Its partition's last range: the one that reads to the end. */
  readonly last: boolean;
  readonly verdict: Promise<RangeVerdict | undefined>;
}

/**
 * `verifyPartitions` on worker threads, with the same verdict (breaks, reasons,
 * checkpoints, heads, the count checked) and progress. Each partition is cut into
 * ranges of `rangeEvents` events (the position of every n-th event, read from
 * `events_tenant_position`: ChainLog.rangeEnds); each range is verified on a thread, with its own read
 * connection to `storage`, from the stored hash of the event before it, as any page of
 * a walk is (verified-pages.ts). The ranges' small verdicts are judged here in position
 * order (partition-judge.ts): a checkpoint once every range up to it has verified, a
 * partition's first break as the lowest-position one, and its head once its last
 * range is in. Ranges of a broken partition after the break are not verified (or not
 * looked at). Ranges are handed out a few ahead of the one judged next, so memory stays
 * bounded whatever the log's size.
 *
 * `log` is this thread's own reader of the same data: range boundaries, heads and
 * checkpoints. A thread that fails fails the whole verification (it rejects): never a
 * verdict that did not look at every event.
 */
export async function verifyPartitionsInParallel(
  storage: Config['storage'],
  log: ChainLog,
  partitions: readonly string[],
  options: ParallelOptions,
): Promise<PartitionsVerdict> {
  const sizes = await partitionSizes(log, partitions);
  const rangeEvents = options.rangeEvents ?? RANGE_EVENTS;
  const threads = Math.min(options.threads, Math.ceil(sizes.total / rangeEvents));
  if (threads <= 1 || sizes.total < (options.minEvents ?? MIN_EVENTS)) {
    return verifyPartitionsHere(log, partitions, sizes, options);
  }
  options.signal?.throwIfAborted();
  const pool = startVerifyThreads(threads, {
    storage,
    // A whole range in one read; the last range of a partition may be longer.
    pageSize: rangeEvents + 1,
    checkpoints: options.checkpoints !== undefined,
  });
  const abort = () => pool.fail(options.signal?.reason);
  options.signal?.addEventListener('abort', abort);
  try {
    return await judgeRanges(log, partitions, sizes, options, pool, threads, rangeEvents);
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await pool.close();
  }
}

async function judgeRanges(
  log: ChainLog,
  partitions: readonly string[],
  sizes: PartitionSizes,
  options: ParallelOptions,
  pool: VerifyThreads,
  threads: number,
  rangeEvents: number,
): Promise<PartitionsVerdict> {
  const runs = partitions.map(
    (partition): PartitionRun => ({
      partition,
      events: sizes.of.get(partition) ?? 0,
      judge: partitionJudge(log, partition, options.checkpoints, 0),
      tip: { position: null, hash: GENESIS_HASH },
      broken: null,
    }),
  );
  const cut = rangeCutter(log, runs, rangeEvents);
  const ahead: Range[] = [];
  const broken: PartitionsVerdict['broken'][number][] = [];
  let checked = 0;
  const report = (run: PartitionRun) =>
    options.onProgress?.({
      partition: run.partition,
      checked: run.judge.checked(),
      partitionEvents: run.events,
      doneEvents: checked + run.judge.checked(),
      totalEvents: sizes.total,
    });
  let current: PartitionRun | undefined;
  for (;;) {
    while (ahead.length < threads * AHEAD_PER_THREAD) {
      const cutting = cut();
      // Raced: should the threads fail first, this read's own failure is no news.
      cutting.catch(() => {});
      const slice = await Promise.race([cutting, pool.failed]);
      if (!slice) break;
      const { run } = slice;
      const verdict = pool.verify(slice, () => run.broken !== null);
      ahead.push({ run, last: slice.upTo === undefined, verdict });
    }
    const range = ahead.shift();
    if (!range) break;
    const verdict = await Promise.race([range.verdict, pool.failed]);
    const { run } = range;
    if (run.broken) continue;
    if (run !== current) {
      current = run;
      report(run);
    }
    let failed = await run.judge.stretch(rangeStretch(verdict as RangeVerdict));
    if (verdict?.last) run.tip = verdict.last;
    report(run);
    if (!failed && range.last) failed = await run.judge.end(undefined, run.tip);
    if (failed) run.broken = failed;
    if (failed || range.last) {
      checked += run.judge.checked();
      if (failed) broken.push({ partition: run.partition, ...failed });
    }
  }
  return { ok: broken.length === 0, partitions: partitions.length, checked, broken };
}
