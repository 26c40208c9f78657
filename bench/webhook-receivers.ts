import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/** What the receiver thread is told: how many servers, and where to count. */
export interface ReceiverSpec {
  readonly servers: number;
  /** Int32 pairs per server: requests answered, body bytes read. */
  readonly counters: SharedArrayBuffer;
}

export interface Receivers {
  /** `http://127.0.0.1:{port}/hooks`, one per server: one endpoint each. */
  readonly urls: readonly string[];
  /** Requests server `index` answered since the last reset. */
  count(index: number): number;
  /** Body bytes server `index` read since the last reset. */
  bytes(index: number): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * `servers` webhook receivers on 127.0.0.1, each on its own port (each endpoint its
 * own, as distinct receivers would be), answering 204 as soon as the body is read. They
 * run on a worker thread: the bench process's main thread is Tessera's, and a real
 * receiver is another program.
 */
export async function startReceivers(servers: number): Promise<Receivers> {
  const counters = new SharedArrayBuffer(servers * 2 * Int32Array.BYTES_PER_ELEMENT);
  const counts = new Int32Array(counters);
  const spec: ReceiverSpec = { servers, counters };
  const worker = new Worker(new URL('./webhook-receiver-worker.ts', import.meta.url), {
    workerData: spec,
  });
  const [ports] = (await once(worker, 'message')) as [number[]];
  return {
    urls: ports.map((port) => `http://127.0.0.1:${port}/hooks`),
    count: (index) => Atomics.load(counts, index * 2),
    bytes: (index) => Atomics.load(counts, index * 2 + 1),
    reset: () => counts.fill(0),
    async close() {
      await worker.terminate();
    },
  };
}
