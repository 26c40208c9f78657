/**
 * What a listener hears when the feed cannot say what changed: it began or stopped
 * hearing other writers (a LISTEN connection came or went), or another process
 * committed to the SQLite file. Whatever the listener holds may be stale.
 */
export const EVERYTHING: unique symbol = Symbol('everything may have changed');

/** A payload announced on a topic, or EVERYTHING. */
export type Change = string | typeof EVERYTHING;

export type ChangeListener = (change: Change) => void;

export interface ChangeFeedOptions {
  /** Connection failures and listener exceptions, for logging; the feed recovers by itself. */
  readonly onError?: (error: unknown) => void;
}

/** Hearing other writers, from one `start` until its `stop`. */
export interface Hearing {
  /** Safe to call twice. The feed stops hearing once every `start` was stopped. */
  stop(): Promise<void>;
}

/**
 * `db.changes`: how a node-local cache learns that what it holds changed, on every
 * engine. A topic names one kind of change (`credentials`, `quotas`, `ip_filters`);
 * on PostgreSQL it is the channel `tessera_<topic>` that the migrations' triggers
 * NOTIFY on, shared by all topics over one LISTEN connection. On SQLite, another
 * process's commit moves the file's data version, which says nothing about what
 * changed: every topic hears EVERYTHING.
 */
export interface ChangeFeed {
  /**
   * Calls `listener` with every change to `topic` from now on: this process's
   * `publish` at once, other nodes' and processes' while the feed is started.
   * Returns the way to stop.
   */
  subscribe(topic: string, listener: ChangeListener): () => void;
  /**
   * Announces a change this process committed to its own listeners, synchronously,
   * so the next lookup here already sees it. Other nodes learn of it from the
   * database (PostgreSQL: the triggers' NOTIFY).
   */
  publish(topic: string, payload: string): void;
  /**
   * Starts hearing other nodes and processes (the server does; the CLI does not).
   * Every listener then hears EVERYTHING, since changes made before went unheard.
   * PostgreSQL: resolves once LISTEN is in place, and rejects if the first
   * connection fails: a node that cannot hear should not start. Later losses are
   * reported to `onError` and repaired by reconnecting.
   */
  start(options?: ChangeFeedOptions): Promise<Hearing>;
  /**
   * True while every change to `topic` reaches its listeners: started, and on
   * PostgreSQL with LISTEN in place. A cache that may never serve a change it did
   * not hear (a revoked credential) reuses answers only then.
   */
  hears(topic: string): boolean;
  /**
   * Delivers what can only be learnt by asking, before a cache trusts what it holds:
   * SQLite reads the file's data version (microseconds, never waiting behind a
   * write). Nothing to do on PostgreSQL, where notifications arrive by themselves.
   */
  catchUp(): void;
  /** Stops hearing and forgets every listener; the database's `close` calls it. */
  close(): Promise<void>;
}

// Topics are spliced into LISTEN (as part of a channel name), which takes no parameters.
const TOPIC_NAME = /^[a-z][a-z0-9_]*$/;

export function checkTopic(topic: string): void {
  if (!TOPIC_NAME.test(topic)) throw new Error(`not a change feed topic: ${JSON.stringify(topic)}`);
}
