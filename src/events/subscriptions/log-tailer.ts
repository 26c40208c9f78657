import type { LogNotifier } from '../log-notifier.ts';
import type { StoredEvent } from '../model.ts';
import type { EventStore } from '../store.ts';

/** Receives every event of the tenant, in position order, as the tailer reads it. */
export interface TailSubscriber {
  offer(event: StoredEvent): void;
}

export interface LogTailer {
  /**
   * No event of the tenant above this position has been dispatched yet, and every
   * one above it will be: a subscriber whose catch-up has covered it can go live.
   * Infinity until `ready`.
   */
  readonly position: number;
  /** Resolves once the tailer knows where the log's head was when it started. */
  readonly ready: Promise<void>;
  readonly size: number;
  add(subscriber: TailSubscriber): void;
  remove(subscriber: TailSubscriber): void;
  stop(): void;
}

export interface LogTailerOptions {
  readonly store: EventStore;
  readonly notifier: LogNotifier;
  readonly tenantId: string;
  /** Fallback poll, in case a wake-up is lost (or another node wrote). */
  readonly pollMs?: number;
  readonly onError: (error: unknown) => void;
}

const PAGE = 1000;
const POLL_MS = 1000;

/**
 * Follows one tenant's log from the head on behalf of all its live subscribers
 * in this process, so N subscribers cost one query per commit, not N. Wake-ups
 * only say "the head may be at least N"; the events are always read from the store.
 */
export function startLogTailer(options: LogTailerOptions): LogTailer {
  const { store, tenantId } = options;
  const subscribers = new Set<TailSubscriber>();
  let position = Number.POSITIVE_INFINITY;
  // Every event of the tenant up to `cursor` has been read (and dispatched).
  let cursor: number | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  async function follow(): Promise<void> {
    const head = await store.headPosition();
    if (cursor === undefined) {
      cursor = head;
      position = head;
      markReady();
      return;
    }
    let from = cursor;
    while (!stopped && head > from) {
      const page = await store.readLog(tenantId, from, PAGE);
      if (stopped) return;
      // Dispatched in one synchronous run, so a subscriber checking `position`
      // never sees it between two events of a page.
      for (const event of page) {
        position = event.position;
        for (const subscriber of subscribers) subscriber.offer(event);
      }
      const last = page.at(-1)?.position ?? from;
      // A short page means everything up to `head` is visible and has been read.
      from = page.length < PAGE ? Math.max(last, head) : last;
      cursor = from;
    }
  }

  async function run(): Promise<void> {
    running = true;
    try {
      do {
        again = false;
        await follow();
      } while (again && !stopped);
    } catch (error) {
      // A read cut short by shutdown (the database closing under it) is no failure.
      if (!stopped) options.onError(error);
    } finally {
      running = false;
    }
  }

  function wake(head?: number): void {
    if (stopped || (head !== undefined && cursor !== undefined && head <= cursor)) return;
    if (running) {
      again = true;
      return;
    }
    void run();
  }

  const unsubscribe = options.notifier.subscribe(wake);
  const poll = setInterval(() => wake(), options.pollMs ?? POLL_MS);
  poll.unref();
  wake();

  return {
    get position() {
      return position;
    },
    ready,
    get size() {
      return subscribers.size;
    },
    add: (subscriber) => subscribers.add(subscriber),
    remove: (subscriber) => subscribers.delete(subscriber),
    stop() {
      stopped = true;
      clearInterval(poll);
      unsubscribe();
      subscribers.clear();
    },
  };
}
