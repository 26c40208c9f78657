import {
  type Change,
  type ChangeFeed,
  type ChangeFeedOptions,
  type ChangeListener,
  checkTopic,
  EVERYTHING,
  type Hearing,
} from './change-feed.ts';

/** How a source tells the feed what it heard. */
export interface SourceSignals {
  deliver(topic: string, change: Change): void;
  deliverToAll(change: Change): void;
  report(error: unknown): void;
  /** Every topic with listeners now. */
  topics(): readonly string[];
}

/** Where an engine hears other writers' changes: what differs between the feeds. */
export interface ChangeSource {
  /** Begins hearing; rejects if it cannot. Called again after `shut` for a new start. */
  open(signals: SourceSignals): Promise<void>;
  /** Stops hearing: the last `stop`, or the feed closing. */
  shut(): Promise<void>;
  /** `topic` got its first listener (maybe while open). */
  added(topic: string): void;
  /** While open: does every change to `topic` reach the feed? */
  hears(topic: string): boolean;
  /** While open: delivers what can only be learnt by asking. */
  catchUp(): void;
}

/**
 * The part of a change feed every engine shares: listeners by topic, this process's
 * own announcements, and starting and stopping (counted, so the server and a test
 * may each start and stop it) around the engine's `source`.
 */
export function createChangeFeed(source: ChangeSource): ChangeFeed {
  const listeners = new Map<string, Set<ChangeListener>>();
  const reporters = new Set<ChangeFeedOptions>();
  let starts = 0;
  let opening: Promise<void> | undefined;
  let shutting: Promise<void> | undefined;
  let open = false;
  let closed = false;

  function report(error: unknown): void {
    for (const reporter of reporters) reporter.onError?.(error);
  }

  /** Calls every listener of `topic`; returns what they threw. */
  function callListeners(topic: string, change: Change): unknown[] {
    const errors: unknown[] = [];
    for (const listener of [...(listeners.get(topic) ?? [])]) {
      // One failing listener must not keep the others from hearing.
      try {
        listener(change);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }

  function deliver(topic: string, change: Change): void {
    for (const error of callListeners(topic, change)) report(error);
  }

  function deliverToAll(change: Change): void {
    for (const topic of [...listeners.keys()]) deliver(topic, change);
  }

  const signals: SourceSignals = {
    deliver,
    deliverToAll,
    report,
    topics: () => [...listeners.keys()],
  };

  function shut(): Promise<void> {
    open = false;
    opening = undefined;
    shutting = source.shut().finally(() => {
      shutting = undefined;
    });
    // From now on changes go unheard: nothing held may be trusted.
    deliverToAll(EVERYTHING);
    return shutting;
  }

  function opened(): Promise<void> {
    opening ??= (shutting ?? Promise.resolve())
      .then(() => source.open(signals))
      .then(() => {
        if (closed) return;
        open = true;
        // Changes made before went unheard.
        deliverToAll(EVERYTHING);
      });
    return opening;
  }

  return {
    subscribe(topic, listener) {
      checkTopic(topic);
      if (closed) return () => {};
      let forTopic = listeners.get(topic);
      if (!forTopic) {
        forTopic = new Set();
        listeners.set(topic, forTopic);
        source.added(topic);
      }
      // Its own entry, so the same function subscribed twice is also stopped twice.
      const entry: ChangeListener = (change) => listener(change);
      forTopic.add(entry);
      return () => {
        forTopic.delete(entry);
      };
    },
    publish(topic, payload) {
      checkTopic(topic);
      const errors = callListeners(topic, payload);
      // Not started (the CLI): nobody to report to, so the publisher hears of it.
      if (errors.length > 0 && reporters.size === 0) throw errors[0];
      for (const error of errors) report(error);
    },
    async start(options = {}) {
      if (closed) throw new Error('the change feed is closed (its database was closed)');
      const reporter = { ...options };
      reporters.add(reporter);
      starts++;
      try {
        await opened();
      } catch (error) {
        starts--;
        reporters.delete(reporter);
        opening = undefined;
        throw error;
      }
      let stopped = false;
      const hearing: Hearing = {
        async stop() {
          if (stopped) return;
          stopped = true;
          reporters.delete(reporter);
          starts--;
          if (starts === 0 && !closed) await shut();
        },
      };
      return hearing;
    },
    hears: (topic) => open && !closed && source.hears(topic),
    catchUp() {
      if (open && !closed) source.catchUp();
    },
    async close() {
      if (closed) return;
      closed = true;
      const wasOpen = open || opening !== undefined;
      open = false;
      listeners.clear();
      if (wasOpen) await (opening?.catch(() => {}) ?? Promise.resolve());
      if (wasOpen) await source.shut();
      await shutting;
      reporters.clear();
    },
  };
}
