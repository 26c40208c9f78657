import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Config } from '../../config/schema.ts';
import type { LogNotifier } from '../../events/log-notifier.ts';
import {
  type DeliveryCall,
  type DeliveryWorkerData,
  type FromWorker,
  SHARED_BYTES,
  sharedSlots,
  type ToWorker,
} from './delivery-protocol.ts';
import type { DispatcherDeps, HeldEndpoint, WebhookDispatcher } from './dispatcher.ts';

/** How often the API's event loop is looked at, and how busy counts as busy. */
const LOOK_EVERY_MS = 100;
const BUSY_UTILIZATION = 0.25;
/** How long past the post timeout a stopping delivery thread may take to write where it stands. */
const STOP_GRACE_MS = 5000;

export interface DeliveryThreadDeps {
  readonly config: Pick<Config, 'storage' | 'webhooks'>;
  readonly masterKey: () => Buffer;
  readonly notifier: Pick<LogNotifier, 'subscribe'>;
  /** Whether any endpoint is enabled: until one is, no thread is started. */
  readonly anyEnabled: () => Promise<boolean>;
  /** What only this thread can do for the delivery thread's dispatcher (dispatcher.ts). */
  readonly disable: DispatcherDeps['disable'];
  readonly tenantActive: DispatcherDeps['tenantActive'];
  readonly log: DispatcherDeps['log'];
  /** Counts attempts the delivery thread reports, by outcome label. */
  readonly counted: (label: string, count: number) => void;
}

export interface DeliveryThread extends WebhookDispatcher {
  /** The delivery thread's V8 heap in use, in bytes; undefined while no thread runs. */
  heapUsed(): Promise<number | undefined>;
}

/**
 * This node's webhook dispatcher, run on a worker thread with its own database
 * connection (delivery-worker.ts), so that walking the log, signing and posting stay
 * off the API's event loop. It also yields: while this event loop is busy over a
 * quarter of the time (or the machine is: cpu-pacer.ts), the thread spends at most
 * `webhooks.busy_cpu_share` of a core, so appends keep their pace and deliveries wait
 * in the log until the load eases.
 *
 * The thread starts once an endpoint is enabled (a node without any starts nothing),
 * hears of commits through shared memory (no message per commit), and asks this thread
 * for what only it has: a tenant's status, and disabling an endpoint with its audit
 * and admin emails. Should it die, the next poll starts another: its leases run out or
 * are taken back, and the log still has every event.
 */
export function startDeliveryThread(deps: DeliveryThreadDeps): DeliveryThread {
  const { webhooks } = deps.config;
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const slots = sharedSlots(shared);
  let worker: Worker | undefined;
  let held: HeldEndpoint[] = [];
  let stopping = false;
  let checking = false;
  let nextHeap = 0;
  const heaps = new Map<number, (used: number | undefined) => void>();

  const unsubscribe = deps.notifier.subscribe((head) => {
    Atomics.store(slots.head, 0, BigInt(head));
    Atomics.add(slots.news, 0, 1);
    Atomics.notify(slots.news, 0);
  });

  let looked = performance.eventLoopUtilization();
  const look = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, looked);
    looked = now;
    Atomics.store(slots.busy, 0, utilization > BUSY_UTILIZATION ? 1 : 0);
  }, LOOK_EVERY_MS);
  look.unref();

  async function answer(thread: Worker, id: number, request: DeliveryCall): Promise<void> {
    try {
      const value =
        request.method === 'disable'
          ? await deps.disable(...request.args)
          : await deps.tenantActive(...request.args);
      thread.postMessage({ kind: 'reply', id, value } satisfies ToWorker);
    } catch (error) {
      thread.postMessage({ kind: 'reply', id, error: String(error) } satisfies ToWorker);
    }
  }

  function spawn(): Worker {
    const data: DeliveryWorkerData = {
      storage: deps.config.storage,
      webhooks,
      masterKey: new Uint8Array(deps.masterKey()),
      shared,
    };
    const thread = new Worker(new URL('./delivery-worker.ts', import.meta.url), {
      workerData: data,
    });
    thread.on('message', (message: FromWorker) => {
      if (message.kind === 'call') void answer(thread, message.id, message);
      else if (message.kind === 'report') {
        for (const [label, count] of Object.entries(message.attempted)) deps.counted(label, count);
        held = message.held;
      } else if (message.kind === 'log') deps.log[message.level](message.object, message.message);
      else if (message.kind === 'heap') {
        heaps.get(message.id)?.(message.used);
        heaps.delete(message.id);
      }
    });
    thread.on('error', (error) =>
      deps.log.error(
        { err: error },
        'webhook delivery thread failed; the next poll starts another',
      ),
    );
    thread.on('exit', () => {
      if (worker === thread) worker = undefined;
      held = [];
      for (const answer of heaps.values()) answer(undefined);
      heaps.clear();
    });
    return thread;
  }

  /** Starts the thread when there is something to deliver and none runs. */
  async function ensure(): Promise<void> {
    if (worker || stopping || checking) return;
    checking = true;
    try {
      if ((await deps.anyEnabled()) && !worker && !stopping) worker = spawn();
    } catch (error) {
      deps.log.error({ err: error }, 'webhook delivery could not look for endpoints');
    } finally {
      checking = false;
    }
  }

  const poll = setInterval(() => void ensure(), webhooks.poll_interval_ms);
  poll.unref();
  void ensure();

  return {
    wake() {
      if (worker) worker.postMessage({ kind: 'wake' } satisfies ToWorker);
      else void ensure();
    },
    heldEndpoints: () => held,
    heapUsed() {
      const thread = worker;
      if (!thread) return Promise.resolve(undefined);
      const id = nextHeap++;
      return new Promise((resolve) => {
        heaps.set(id, resolve);
        thread.postMessage({ kind: 'heap', id } satisfies ToWorker);
      });
    },
    async stop() {
      stopping = true;
      clearInterval(poll);
      clearInterval(look);
      unsubscribe();
      const thread = worker;
      if (!thread) return;
      const stopped = new Promise<void>((resolve) => {
        thread.on('message', (message: FromWorker) => {
          if (message.kind === 'stopped') resolve();
        });
        thread.once('exit', () => resolve());
      });
      thread.postMessage({ kind: 'stop' } satisfies ToWorker);
      // The posts in flight end within the timeout; a thread stuck past that (its
      // database away) is ended all the same: its leases run out, nothing is lost.
      const stuck = setTimeout(() => void thread.terminate(), webhooks.timeout_ms + STOP_GRACE_MS);
      await stopped;
      clearTimeout(stuck);
      await thread.terminate();
      held = [];
    },
  };
}
