import { parentPort, workerData } from 'node:worker_threads';

/**
 * A verify thread (src/ledger/verify-worker.ts) that dies on the first range it is
 * given: by exiting (`crash: 'exit'`) or by throwing (`crash: 'throw'`). What a thread
 * killed by the system or broken by a bug looks like to the threads that started it.
 */
parentPort?.once('message', () => {
  if ((workerData as { crash?: string }).crash === 'exit') process.exit(3);
  throw new Error('the verify thread broke');
});
