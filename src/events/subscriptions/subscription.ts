import type { StoredEvent } from '../model.ts';
import { readWithinBytes } from '../read-within-bytes.ts';
import type { EventStore, LogFilter } from '../store.ts';
import { eventJsonBytes } from './event-json.ts';
import type { LogTailer, TailSubscriber } from './log-tailer.ts';
import type { EndReason, SubscriberSink } from './subscriber-sink.ts';

export interface SubscriptionOptions {
  readonly store: EventStore;
  /** The tenant's tailer; the hub adds the subscription to it in the same tick. */
  readonly tailer: LogTailer;
  readonly tenantId: string;
  /** Deliver the events after this position. */
  readonly from: number;
  readonly filter: LogFilter;
  readonly sink: SubscriberSink;
  /** Live events queued while the transport is backpressured before the subscriber is closed. */
  readonly bufferEvents: number;
  /** Bytes of event JSON queued unsent before the subscriber is closed; also bounds a catch-up read. */
  readonly bufferBytes: number;
  /** The largest event, so a catch-up read of large events never loads a page of them at once. */
  readonly maxEventBytes: number;
  /** Told of every change of the bytes queued here (the process-wide budget). */
  readonly onQueuedBytes: (delta: number) => void;
  /** Counted: the subscriber fell behind a byte or event budget and was closed. */
  readonly onTooSlow: () => void;
  readonly heartbeatMs: number;
  readonly onClosed: () => void;
  readonly onError: (error: unknown) => void;
}

export interface Subscription extends TailSubscriber {
  readonly live: boolean;
  /** Bytes of event JSON queued, not yet handed to the transport. */
  readonly queuedBytes: number;
  /** Closes it with subscriber_too_slow and the position to resume after (a budget ran out). */
  tooSlow(): void;
  /** The client left, or the server is shutting down (the client is told where to resume). */
  close(kind: 'client_gone' | 'shutdown'): void;
}

/** Events per catch-up read; the next read waits until the transport has taken them. */
const CATCH_UP_PAGE = 256;

/**
 * One subscriber: catches up by reading the store with its own filter, then hands
 * over to the tenant's tailer. After a short read every event up to the head read
 * before it has been seen; if at that moment the tailer has dispatched nothing
 * beyond our cursor, everything after the cursor is still to come from it, so we
 * go live, checking and switching with no await in between. In live mode events
 * at or below the cursor were already delivered by the catch-up and are dropped.
 */
export function startSubscription(options: SubscriptionOptions): Subscription {
  const { store, tailer, sink, filter } = options;
  const prefix = filter.entity_prefix;
  const types = filter.event_types?.length ? new Set(filter.event_types) : undefined;
  let live = false;
  let closed = false;
  let cursor = options.from;
  let lastWritten = cursor;
  let writable = true;
  const queue: StoredEvent[] = [];
  let queuedBytes = 0;
  let onSettled: (() => void) | undefined;
  const heartbeat = setTimeout(beat, options.heartbeatMs);
  heartbeat.unref();

  const matches = (event: StoredEvent) =>
    (prefix === undefined || event.entity_id.startsWith(prefix)) &&
    (types === undefined || types.has(event.event_type));

  function write(event: StoredEvent): void {
    writable = sink.send(event);
    lastWritten = event.position;
    heartbeat.refresh();
    if (!writable) sink.onDrain(flush);
  }

  function queued(delta: number): void {
    queuedBytes += delta;
    options.onQueuedBytes(delta);
  }

  function deliver(event: StoredEvent): void {
    // The process budget may close us while a catch-up page is being delivered.
    if (closed) return;
    if (writable && queue.length === 0) write(event);
    else {
      queue.push(event);
      queued(eventJsonBytes(event));
    }
  }

  function flush(): void {
    if (closed) return;
    writable = true;
    while (writable && queue.length > 0) {
      const event = queue.shift() as StoredEvent;
      queued(-eventJsonBytes(event));
      write(event);
    }
    if (writable && onSettled) {
      const settled = onSettled;
      onSettled = undefined;
      settled();
    }
  }

  /** Resolves when the transport has taken everything queued (or the subscription closed). */
  function settled(): Promise<void> {
    if (closed || (writable && queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      onSettled = resolve;
    });
  }

  function beat(): void {
    if (closed) return;
    if (queue.length === 0) sink.heartbeat();
    heartbeat.refresh();
  }

  async function catchUp(): Promise<void> {
    await tailer.ready;
    while (!closed) {
      const head = await store.headPosition();
      // Read only when everything before was taken, and no more than the subscriber's
      // byte budget (at least one event), so a catch-up holds at most that unsent.
      const { events: page, full } = await readWithinBytes(
        (last, count) => store.readLog(options.tenantId, last?.position ?? cursor, count, filter),
        CATCH_UP_PAGE,
        options.bufferBytes,
        options.maxEventBytes,
      );
      if (closed) return;
      for (const event of page) deliver(event);
      cursor = page.at(-1)?.position ?? cursor;
      if (!full) {
        cursor = Math.max(cursor, head);
        // Leftovers of the catch-up must not count against the live buffer.
        if (queue.length === 0 && tailer.position <= cursor) {
          live = true;
          return;
        }
      }
      await settled();
    }
  }

  function end(reason: EndReason): void {
    if (closed) return;
    closed = true;
    if (reason.kind === 'too_slow') options.onTooSlow();
    live = false;
    clearTimeout(heartbeat);
    queue.length = 0;
    queued(-queuedBytes);
    onSettled?.();
    options.onClosed();
    sink.end(reason);
  }

  catchUp().catch((error: unknown) => {
    if (closed) return;
    options.onError(error);
    end({ kind: 'failed', lastPosition: lastWritten });
  });

  return {
    get live() {
      return live;
    },
    get queuedBytes() {
      return queuedBytes;
    },
    offer(event) {
      if (!live || event.position <= cursor) return;
      cursor = event.position;
      if (!matches(event)) return;
      deliver(event);
      if (queue.length > options.bufferEvents || queuedBytes > options.bufferBytes) {
        end({ kind: 'too_slow', lastPosition: lastWritten });
      }
    },
    tooSlow() {
      end({ kind: 'too_slow', lastPosition: lastWritten });
    },
    close(kind) {
      end(kind === 'shutdown' ? { kind, lastPosition: lastWritten } : { kind });
    },
  };
}
