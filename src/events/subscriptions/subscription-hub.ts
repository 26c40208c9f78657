import type { Config } from '../../config/schema.ts';
import type { LogNotifier } from '../log-notifier.ts';
import type { EventStore, LogFilter } from '../store.ts';
import { type LogTailer, startLogTailer } from './log-tailer.ts';
import type { SubscriberSink } from './subscriber-sink.ts';
import { type Subscription, startSubscription } from './subscription.ts';

export interface SubscriptionRequest {
  readonly tenantId: string;
  /** Deliver the events after this position. */
  readonly from: number;
  readonly filter: LogFilter;
  readonly sink: SubscriberSink;
  /** Runs once when the subscription closes, for whatever reason (releases its slot). */
  readonly onClosed?: (() => void) | undefined;
}

export interface SubscriptionHubStats {
  /** Tenants with a tailer, i.e. with at least one subscriber in this process. */
  readonly tenants: number;
  readonly catching_up: number;
  readonly live: number;
  /** Bytes of event JSON queued for subscribers whose transport is backpressured. */
  readonly buffered_bytes: number;
  /** Subscribers closed because they fell behind their own or the process's byte budget, since start. */
  readonly closed_too_slow: number;
}

export interface SubscriptionHub {
  open(request: SubscriptionRequest): Subscription;
  stats(): SubscriptionHubStats;
}

export interface SubscriptionHubDeps {
  readonly store: EventStore;
  readonly notifier: LogNotifier;
  readonly settings: Config['subscriptions'];
  readonly maxEventBytes: number;
  readonly onError: (error: unknown, tenantId: string) => void;
}

/** The live subscriptions of one process: one tailer per tenant, while it has subscribers. */
export function createSubscriptionHub(deps: SubscriptionHubDeps): SubscriptionHub {
  const tailers = new Map<string, LogTailer>();
  const subscriptions = new Set<Subscription>();
  let bufferedBytes = 0;
  let closedTooSlow = 0;
  let enforcing = false;

  /**
   * Over the process's budget, the subscribers holding the most unsent bytes are
   * closed (with their resume position) until it is met again: a stalled client
   * pays for its backlog, never one that keeps up.
   */
  function queuedBytes(delta: number): void {
    bufferedBytes += delta;
    if (enforcing || bufferedBytes <= deps.settings.process_buffer_bytes) return;
    enforcing = true;
    try {
      while (bufferedBytes > deps.settings.process_buffer_bytes) {
        let largest: Subscription | undefined;
        for (const subscription of subscriptions) {
          if (subscription.queuedBytes > (largest?.queuedBytes ?? 0)) largest = subscription;
        }
        if (!largest) break;
        largest.tooSlow();
      }
    } finally {
      enforcing = false;
    }
  }

  function tailerFor(tenantId: string): LogTailer {
    let tailer = tailers.get(tenantId);
    if (!tailer) {
      tailer = startLogTailer({
        store: deps.store,
        notifier: deps.notifier,
        tenantId,
        onError: (error) => deps.onError(error, tenantId),
      });
      tailers.set(tenantId, tailer);
    }
    return tailer;
  }

  return {
    open({ tenantId, from, filter, sink, onClosed }) {
      const tailer = tailerFor(tenantId);
      const subscription: Subscription = startSubscription({
        store: deps.store,
        tailer,
        tenantId,
        from,
        filter,
        sink,
        bufferEvents: deps.settings.buffer_events,
        bufferBytes: deps.settings.buffer_bytes,
        maxEventBytes: deps.maxEventBytes,
        onQueuedBytes: queuedBytes,
        onTooSlow: () => closedTooSlow++,
        heartbeatMs: deps.settings.heartbeat_ms,
        onError: (error) => deps.onError(error, tenantId),
        onClosed() {
          onClosed?.();
          subscriptions.delete(subscription);
          tailer.remove(subscription);
          if (tailer.size === 0) {
            tailer.stop();
            tailers.delete(tenantId);
          }
        },
      });
      subscriptions.add(subscription);
      tailer.add(subscription);
      return subscription;
    },
    stats() {
      let live = 0;
      for (const subscription of subscriptions) if (subscription.live) live++;
      return {
        tenants: tailers.size,
        catching_up: subscriptions.size - live,
        live,
        buffered_bytes: bufferedBytes,
        closed_too_slow: closedTooSlow,
      };
    },
  };
}
