import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { LogNotifier } from '../../events/log-notifier.ts';
import { openEventStore } from '../../events/open-event-store.ts';
import { openDatabase } from '../../storage/open-database.ts';
import { endpointSecretSealer } from '../signing/endpoint-sealer.ts';
import { createCourier, keepAliveAgents } from './courier.ts';
import { cpuPacer } from './cpu-pacer.ts';
import {
  type DeliveryCall,
  type DeliveryWorkerData,
  type FromWorker,
  type SharedSlots,
  sharedSlots,
  type ToWorker,
} from './delivery-protocol.ts';
import { startWebhookDispatcher } from './dispatcher.ts';
import { createLogReader } from './log-reader.ts';
import { createMessageSender } from './send-message.ts';
import { outcomeLabel } from './webhook-metrics.ts';

/**
 * The delivery thread: this node's webhook dispatcher, on a thread and a database
 * connection of its own (delivery-thread.ts starts it). Reading the log for every
 * endpoint, signing and posting were all on the API's event loop before, where each
 * appended event cost five times its own work with five endpoints.
 */

/** Commits closer together than this are heard of together. */
const COALESCE_MS = 20;
/** How often what changed (attempts, endpoints held) is told to the API's thread. */
const REPORT_EVERY_MS = 100;
/** The least time between an endpoint's walks while the node is busy. */
const BUSY_WALK_GAP_MS = 1000;
/** How long delivered attempts may wait to be written while the node is busy. */
const BUSY_FLUSH_MS = 5000;
/** The delivery thread's own pool: its walks need one connection at a time, mostly. */
const POOL_MAX = 2;

/** The log notifier as this thread hears it: the API's thread bumps `news` at each commit. */
function sharedNotifier(slots: SharedSlots): Pick<LogNotifier, 'subscribe'> & { close(): void } {
  const listeners = new Set<(head: number) => void>();
  let closed = false;
  void (async () => {
    let seen = Atomics.load(slots.news, 0);
    while (!closed) {
      const waited = Atomics.waitAsync(slots.news, 0, seen);
      if (waited.async) await waited.value;
      seen = Atomics.load(slots.news, 0);
      if (closed) break;
      const head = Number(Atomics.load(slots.head, 0));
      for (const listener of listeners) listener(head);
      // Walks rest 50 ms apart anyway: hearing of every commit of a busy log would only
      // wake this thread (and cost the API's a system call) a thousand times a second.
      await sleep(COALESCE_MS);
    }
  })();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      Atomics.notify(slots.news, 0);
    },
  };
}

/** An error as plain data: what a log line needs, and always cloneable. */
function plain(object: object): object {
  const err = (object as { err?: unknown }).err;
  if (!(err instanceof Error)) return object;
  const code = (err as NodeJS.ErrnoException).code;
  return { ...object, err: { type: err.name, message: err.message, stack: err.stack, code } };
}

const port = parentPort;
if (!port) throw new Error('delivery-worker.ts runs as a worker thread');
const data = workerData as DeliveryWorkerData;
const post = (message: FromWorker) => port.postMessage(message);
const slots = sharedSlots(data.shared);
const settings = data.webhooks;

const calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let nextCall = 0;
function call<T>(request: DeliveryCall): Promise<T> {
  const id = nextCall++;
  return new Promise<T>((resolve, reject) => {
    calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post({ kind: 'call', id, ...request });
  });
}

const db = await openDatabase({ ...data.storage, pool_max: POOL_MAX });
const store = openEventStore(db);
const pacer = cpuPacer(() => Atomics.load(slots.busy, 0) === 1, settings.busy_cpu_share);
const pace = pacer.pace;
const send = createMessageSender({
  sealer: endpointSecretSealer(() => Buffer.from(data.masterKey)),
  courier: createCourier(
    {
      timeoutMs: settings.timeout_ms,
      maxResponseBytes: settings.max_response_bytes,
      allowPrivateNetworks: settings.allow_private_networks,
    },
    { agents: keepAliveAgents(), pace },
  ),
});
const readLog = createLogReader(store);
const notifier = sharedNotifier(slots);
let attempted: Record<string, number> = {};
const dispatcher = startWebhookDispatcher({
  db,
  read: async (endpoint, after, limit) => {
    await pace();
    return readLog(endpoint, after, limit);
  },
  notifier,
  send,
  settings,
  // While the node is busy, walks come seldom: each costs the database a read or two
  // that this thread's CPU share does not see.
  walkGapMs: () => (pacer.busy() ? BUSY_WALK_GAP_MS : undefined),
  // And the delivery log is written seldom: on SQLite each write takes the file's one
  // write lock, which an append arriving meanwhile must wait for.
  flushMs: () => (pacer.busy() ? BUSY_FLUSH_MS : undefined),
  disable: (owner, endpoint, reason) =>
    call<boolean>({ method: 'disable', args: [owner, endpoint, reason] }),
  tenantActive: (tenantId) => call<boolean>({ method: 'tenantActive', args: [tenantId] }),
  metrics: {
    attempted(outcome) {
      const label = outcomeLabel(outcome);
      attempted[label] = (attempted[label] ?? 0) + 1;
    },
  },
  log: {
    warn: (object, message) => post({ kind: 'log', level: 'warn', object: plain(object), message }),
    error: (object, message) =>
      post({ kind: 'log', level: 'error', object: plain(object), message }),
  },
});

let lastHeld = '';
function report(): void {
  const held = dispatcher.heldEndpoints();
  const heldNow = JSON.stringify(held);
  if (Object.keys(attempted).length === 0 && heldNow === lastHeld) return;
  post({ kind: 'report', attempted, held });
  attempted = {};
  lastHeld = heldNow;
}
const reporting = setInterval(report, REPORT_EVERY_MS);

port.on('message', (message: ToWorker) => {
  if (message.kind === 'wake') return dispatcher.wake();
  if (message.kind === 'heap') {
    // A process run with --expose-gc (the memory tests) measures what survives a collection.
    (globalThis as { gc?: () => void }).gc?.();
    return post({ kind: 'heap', id: message.id, used: getHeapStatistics().used_heap_size });
  }
  if (message.kind === 'reply') {
    const waiting = calls.get(message.id);
    calls.delete(message.id);
    if ('error' in message) waiting?.reject(new Error(message.error));
    else waiting?.resolve(message.value);
    return;
  }
  // Stop: the dispatcher finishes the posts in flight, writes where it stands and gives
  // its leases back; then the last report, and the connection closed.
  clearInterval(reporting);
  notifier.close();
  void dispatcher
    .stop()
    .catch((error: unknown) =>
      post({
        kind: 'log',
        level: 'error',
        object: plain({ err: error }),
        message: 'webhook delivery stop failed',
      }),
    )
    .then(async () => {
      report();
      await db.close();
      post({ kind: 'stopped' });
    });
});
