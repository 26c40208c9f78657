import type { Config } from '../../config/schema.ts';
import type { DispatcherDeps, HeldEndpoint } from './dispatcher.ts';

/**
 * What passes between the API's thread (delivery-thread.ts) and the delivery thread
 * (delivery-worker.ts).
 */

export interface DeliveryWorkerData {
  readonly storage: Config['storage'];
  readonly webhooks: Config['webhooks'];
  readonly masterKey: Uint8Array;
  /** The slots both threads share (`sharedSlots`). */
  readonly shared: SharedArrayBuffer;
}

export const SHARED_BYTES = 16;

/**
 * The shared slots: the log's head as this node last heard it, a counter bumped at
 * each such news (the delivery thread waits on it), and whether the API's event loop
 * is busy (1) or not (0).
 */
export function sharedSlots(buffer: SharedArrayBuffer) {
  return {
    head: new BigInt64Array(buffer, 0, 1),
    news: new Int32Array(buffer, 8, 1),
    busy: new Int32Array(buffer, 12, 1),
  };
}

export type SharedSlots = ReturnType<typeof sharedSlots>;

/** What the delivery thread asks of the API's thread (and waits for). */
export type DeliveryCall =
  | { readonly method: 'disable'; readonly args: Parameters<DispatcherDeps['disable']> }
  | { readonly method: 'tenantActive'; readonly args: Parameters<DispatcherDeps['tenantActive']> };

export type ToWorker =
  | { readonly kind: 'wake' }
  | { readonly kind: 'heap'; readonly id: number }
  | { readonly kind: 'stop' }
  | { readonly kind: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly error: string };

export type FromWorker =
  | ({ readonly kind: 'call'; readonly id: number } & DeliveryCall)
  | {
      readonly kind: 'report';
      /** Attempts since the last report, by metric outcome label. */
      readonly attempted: Record<string, number>;
      readonly held: HeldEndpoint[];
    }
  | {
      readonly kind: 'log';
      readonly level: 'warn' | 'error';
      readonly object: object;
      readonly message: string;
    }
  | { readonly kind: 'heap'; readonly id: number; readonly used: number }
  | { readonly kind: 'stopped' };
