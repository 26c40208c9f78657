import type { LogNotifier } from './log-notifier.ts';
import type { AppendOutcome, AppendUnit } from './model.ts';
import type { EventStore } from './store.ts';

export interface GroupCommitOptions {
  /** Stop adding units to a transaction once it holds this many events. */
  readonly maxEventsPerCommit: number;
  /** Transactions in flight at once: 1 for a single-writer engine. */
  readonly lanes: number;
  readonly notifier?: LogNotifier | undefined;
}

interface Pending {
  readonly unit: AppendUnit;
  readonly events: number;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

export interface GroupCommitter {
  /** Resolves once the unit's transaction is durable (or it failed on its own). */
  submit(unit: AppendUnit): Promise<AppendOutcome>;
  /** Waits for everything submitted so far. */
  drain(): Promise<void>;
}

/**
 * Coalesces concurrent appends into one transaction: while a commit is in flight,
 * new units queue up and all of them go into the next one. Many small writers then
 * pay for one fsync together, and each unit still succeeds or fails on its own
 * (the store checks every unit before writing any).
 */
export function createGroupCommitter(
  store: EventStore,
  options: GroupCommitOptions,
): GroupCommitter {
  const queue: Pending[] = [];
  let active = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];

  // A commit starts on the next turn of the event loop, never in the microtasks of
  // the request that submitted it: SQLite commits synchronously, so starting at once
  // would finish each request's commit before the next request is even parsed, and
  // nothing would ever be grouped. Waiting for the poll phase lets every request that
  // already arrived join the same transaction and the same fsync.
  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  }

  function takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let events = 0;
    while (queue.length > 0) {
      const next = queue[0] as Pending;
      if (batch.length > 0 && events + next.events > options.maxEventsPerCommit) break;
      batch.push(queue.shift() as Pending);
      events += next.events;
    }
    return batch;
  }

  function pump(): void {
    while (active < options.lanes && queue.length > 0) {
      const batch = takeBatch();
      active++;
      commit(batch).finally(() => {
        active--;
        if (queue.length > 0) schedule();
        else if (active === 0) for (const wake of idle.splice(0)) wake();
      });
    }
  }

  async function commit(batch: Pending[]): Promise<void> {
    try {
      settle(batch, await store.appendUnits(batch.map((pending) => pending.unit)));
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending).reject(error);
        return;
      }
      // An unexpected database error fails the whole transaction; retry each unit
      // alone so one unit's problem cannot fail the others that shared its commit.
      for (const pending of batch) {
        try {
          settle([pending], await store.appendUnits([pending.unit]));
        } catch (unitError) {
          pending.reject(unitError);
        }
      }
    }
  }

  function settle(batch: readonly Pending[], outcomes: readonly AppendOutcome[]): void {
    let head = 0;
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] as AppendOutcome;
      if (outcome.ok && !outcome.duplicate) {
        for (const event of outcome.events) head = Math.max(head, event.position);
      }
      pending.resolve(outcome);
    });
    if (head > 0) options.notifier?.notify(head);
  }

  return {
    submit(unit) {
      const events = unit.entities.reduce((sum, entity) => sum + entity.events.length, 0);
      return new Promise((resolve, reject) => {
        queue.push({ unit, events, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (active === 0 && queue.length === 0 && !scheduled) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
