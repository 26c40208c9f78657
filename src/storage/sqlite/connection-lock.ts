import { AsyncLocalStorage } from 'node:async_hooks';

interface Hold {
  readonly lock: ConnectionLock;
  active: boolean;
}

const currentHold = new AsyncLocalStorage<Hold>();

/**
 * The one lock in front of the single SQLite connection, shared by the Kysely driver
 * and raw access so a hot path and a Kysely transaction never interleave on it.
 * FIFO, so a steady stream of short queries cannot starve a waiting transaction.
 *
 * Code running inside `hold(fn)` already owns the connection: `run` joins it instead
 * of waiting for itself, and `acquire` fails loudly instead of deadlocking.
 */
export class ConnectionLock {
  #tail: Promise<void> = Promise.resolve();

  /** Waits for the connection; the returned function releases it (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.heldHere()) {
      throw new Error(
        'the SQLite connection is held by the enclosing transaction: inside db.transaction() ' +
          'use the transaction handle it passes, not db.kysely (that would wait for itself forever)',
      );
    }
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => released);
    await previous;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  }

  /** True when the caller runs inside a `hold` of this lock that has not ended yet. */
  heldHere(): boolean {
    const hold = currentHold.getStore();
    return hold !== undefined && hold.lock === this && hold.active;
  }

  /** Marks `fn`'s async context as the owner of the (already acquired) connection. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const hold: Hold = { lock: this, active: true };
    try {
      return await currentHold.run(hold, fn);
    } finally {
      // Work that `fn` started but did not await must queue like everyone else.
      hold.active = false;
    }
  }

  /** Runs `fn` owning the connection: joins the current owner or waits its turn. */
  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.heldHere()) return await fn();
    const release = await this.acquire();
    try {
      return await this.hold(async () => await fn());
    } finally {
      release();
    }
  }
}
