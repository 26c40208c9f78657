import { parentPort, workerData } from 'node:worker_threads';
import { type ChainLog, openChainLog } from '../events/chain/chain-log.ts';
import { openDatabase } from '../storage/open-database.ts';
import { createCheckpointStore } from './checkpoints/checkpoint-store.ts';
import { type CheckpointPositions, type PartitionSlice, verifyRange } from './verify-range.ts';
import type { FromVerifyWorker, ToVerifyWorker, VerifyWorkerData } from './verify-threads.ts';

/**
 * A verify thread (verify-threads.ts starts them): verifies the ranges it is given one
 * at a time, on a read connection of its own, and answers each with its verdict. The
 * events it reads never leave this thread.
 */

const port = parentPort;
if (!port) throw new Error('verify-worker.ts runs as a worker thread');
const data = workerData as VerifyWorkerData;

interface Reader {
  readonly log: ChainLog;
  readonly checkpointsIn: CheckpointPositions | undefined;
  close(): Promise<void>;
}

/** One connection: this thread reads one page at a time. */
const reader: Promise<Reader> = openDatabase({ ...data.storage, pool_max: 1 }).then((db) => {
  const store = createCheckpointStore(db.kysely);
  const checkpointsIn: CheckpointPositions = async (partition, after, upTo) => {
    const positions: number[] = [];
    for (let cursor = after; ; ) {
      const rows = await store.list(partition, { after: cursor, upTo, limit: 500 });
      for (const row of rows) positions.push(Number(row.position));
      const last = rows.at(-1);
      if (!last || rows.length < 500) return positions;
      cursor = Number(last.position);
    }
  };
  return {
    log: openChainLog(db),
    checkpointsIn: data.checkpoints ? checkpointsIn : undefined,
    close: () => db.close(),
  };
});
// A database that cannot be opened fails the first range given, as an answer.
reader.catch(() => {});

async function verify(slice: PartitionSlice): Promise<FromVerifyWorker> {
  try {
    const { log, checkpointsIn } = await reader;
    const verdict = await verifyRange(log, slice, data.pageSize, checkpointsIn);
    return { kind: 'verdict', verdict };
  } catch (error) {
    return { kind: 'failed', error: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (message: ToVerifyWorker) => {
  if (message.kind === 'close') {
    void reader
      .then((opened) => opened.close())
      .catch(() => {})
      .finally(() => port.close());
    return;
  }
  void verify(message.slice).then((answer) => port.postMessage(answer));
});
