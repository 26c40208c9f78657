import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import type { PartitionSlice, RangeVerdict } from './verify-range.ts';

/** What each verify thread is started with: plain data, no handle crosses threads. */
export interface VerifyWorkerData {
  /** The database to read: the configured one, or the scratch SQLite file of a backup. */
  readonly storage: Config['storage'];
  /** Events read per query. */
  readonly pageSize: number;
  /** Whether to mark the partitions' checkpoints in each range (verify-range.ts). */
  readonly checkpoints: boolean;
}

export type ToVerifyWorker =
  | { readonly kind: 'verify'; readonly slice: PartitionSlice }
  | { readonly kind: 'close' };

export type FromVerifyWorker =
  | { readonly kind: 'verdict'; readonly verdict: RangeVerdict }
  | { readonly kind: 'failed'; readonly error: string };

export interface VerifyThreads {
  /**
   * Verifies a range on the next thread free (in the order asked); resolves undefined
   * without verifying it when `skip()` says so by then (its partition is broken already).
   */
  verify(slice: PartitionSlice, skip?: () => boolean): Promise<RangeVerdict | undefined>;
  /**
   * Rejects once anything goes wrong: a thread's error or exit, a range it could not
   * verify (its database unreadable), or `fail`. Race it with every wait for a verdict.
   */
  readonly failed: Promise<never>;
  /** Ends the verification with `reason` (Ctrl-C): every thread is terminated. */
  fail(reason: unknown): void;
  /** Lets each thread close its database and exit; terminates any still running. */
  close(): Promise<void>;
}

interface Job {
  readonly slice: PartitionSlice;
  readonly skip: (() => boolean) | undefined;
  readonly resolve: (verdict: RangeVerdict | undefined) => void;
}

/** How long a thread asked to close may take to close its database before it is terminated. */
const CLOSE_GRACE_MS = 5000;

const VERIFY_WORKER = new URL('./verify-worker.ts', import.meta.url);

/**
 * `count` worker threads (verify-worker.ts), each with a database connection of its own
 * opened from `data.storage`. Each verifies one range at a time and returns only its
 * small verdict; ranges wait here, in order, until a thread is free. `script` is the
 * threads' module: tests give one that crashes, to see a dead thread fail the run.
 */
export function startVerifyThreads(
  count: number,
  data: VerifyWorkerData,
  script: URL = VERIFY_WORKER,
): VerifyThreads {
  const waiting: Job[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, Job>();
  const threads: Worker[] = [];
  let closing = false;
  let failure: { reason: unknown } | undefined;
  let rejectFailed: (reason: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  // Whoever waits races it; a failure while nobody waits is not an unhandled rejection.
  failed.catch(() => {});

  function fail(reason: unknown): void {
    if (failure) return;
    failure = { reason };
    rejectFailed(reason);
    for (const thread of threads) void thread.terminate();
  }

  function next(thread: Worker): void {
    for (let job = waiting.shift(); job; job = waiting.shift()) {
      if (job.skip?.()) {
        job.resolve(undefined);
        continue;
      }
      busy.set(thread, job);
      // The slice's own three members only: whatever else its object carries stays here.
      const { partition, after, upTo } = job.slice;
      const slice = { partition, after, upTo };
      try {
        thread.postMessage({ kind: 'verify', slice } satisfies ToVerifyWorker);
      } catch (error) {
        fail(error);
      }
      return;
    }
    idle.push(thread);
  }

  function spawn(): void {
    const thread = new Worker(script, { workerData: data });
    thread.on('message', (message: FromVerifyWorker) => {
      const job = busy.get(thread);
      busy.delete(thread);
      if (!job) return;
      if (message.kind === 'failed') {
        const { partition, after } = job.slice;
        fail(new Error(`could not verify ${partition} after position ${after}: ${message.error}`));
        return;
      }
      job.resolve(message.verdict);
      next(thread);
    });
    thread.on('error', (error) => fail(error));
    thread.on('exit', (code) => {
      if (!closing) fail(new Error(`a verify thread exited unexpectedly (exit code ${code})`));
    });
    threads.push(thread);
    idle.push(thread);
  }

  try {
    for (let i = 0; i < count; i++) spawn();
  } catch (error) {
    // The threads started already must not outlive the failure.
    fail(error);
    throw error;
  }

  return {
    verify(slice, skip) {
      if (failure) return failed;
      return new Promise((resolve) => {
        waiting.push({ slice, skip, resolve });
        const thread = idle.pop();
        if (thread) next(thread);
      });
    },
    failed,
    fail,
    async close() {
      closing = true;
      if (failure) {
        await Promise.all(threads.map((thread) => thread.terminate()));
        return;
      }
      await Promise.all(
        threads.map(async (thread) => {
          const exited = new Promise((resolve) => thread.once('exit', resolve));
          thread.postMessage({ kind: 'close' } satisfies ToVerifyWorker);
          const stuck = setTimeout(() => void thread.terminate(), CLOSE_GRACE_MS);
          await exited;
          clearTimeout(stuck);
        }),
      );
    },
  };
}
