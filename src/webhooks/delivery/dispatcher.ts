import type { Config } from '../../config/schema.ts';
import type { LogNotifier } from '../../events/log-notifier.ts';
import { newId } from '../../platform/secrets.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { DisabledReason, SealedEndpoint } from '../endpoints/endpoint-record.ts';
import { createEndpointStore, type EndpointStore } from '../endpoints/endpoint-store.ts';
import { createAttemptStore, type NewAttempt } from './attempt-store.ts';
import type { DueEvent, LogReader } from './log-reader.ts';
import { messageOf } from './message.ts';
import { retryDelayMs } from './retry-schedule.ts';
import type { MessageSender, SendOutcome } from './send-message.ts';
import type { WebhookMetrics } from './webhook-metrics.ts';

/** Events read per source and step: what one endpoint's walk holds in memory at most. */
const BATCH = 100;
/** Delivered attempts are written, and the cursor moved, every this many deliveries... */
const FLUSH_EVERY = 50;
/** ...or this often, whichever comes first: a crash re-sends at most this much (at least once). */
const FLUSH_MS = 250;
/** A walk reuses the endpoint's row read this recently (a change through the API is seen sooner). */
const ROW_TTL_MS = 1000;
/** A walk that found nothing new persists its cursor at most this often (SQLite has one writer). */
const IDLE_PERSIST_MS = 5000;
/**
 * An endpoint's next walk starts at least this long after its last one ended: under a
 * stream of commits each walk takes many events at once, rather than every commit
 * waking every endpoint for one event (a log read each).
 */
const WALK_GAP_MS = 50;
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** A held endpoint of a suspended or deleted tenant looks whether it is back every this many polls. */
const TENANT_RECHECK_POLLS = 30;

export interface DispatcherDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly read: LogReader;
  readonly notifier: Pick<LogNotifier, 'subscribe'>;
  readonly send: Pick<MessageSender, 'sendInOrder'>;
  readonly settings: Pick<
    Config['webhooks'],
    | 'retry_schedule_seconds'
    | 'concurrency'
    | 'lease_ms'
    | 'poll_interval_ms'
    | 'attempt_retention_days'
  >;
  /**
   * Disables the endpoint while `owner` holds it (410, or the schedule ran out), and
   * tells its admins, in one transaction; false when it was not `owner`'s to disable.
   */
  readonly disable: (
    owner: string,
    endpoint: SealedEndpoint['endpoint'],
    reason: DisabledReason,
  ) => Promise<boolean>;
  /**
   * Whether the tenant is active: a suspended or deleted tenant's endpoints are held
   * (their events wait in the log) until it is active again.
   */
  readonly tenantActive: (tenantId: string) => Promise<boolean>;
  readonly metrics: WebhookMetrics;
  readonly log: {
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  /** The least time between an endpoint's walks now, when not WALK_GAP_MS. */
  readonly walkGapMs?: () => number | undefined;
  /** How long delivered attempts may wait to be written now, when not FLUSH_MS. */
  readonly flushMs?: () => number | undefined;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The event at the head failed `attempts` times since `sinceMs`; next try at `nextMs`. */
export interface FailingHead {
  readonly attempts: number;
  readonly nextMs: number;
  readonly sinceMs: number;
}

/** One endpoint this node holds: where its walk stands in memory. */
interface Held {
  readonly id: string;
  busy: Promise<void> | undefined;
  /** A wake-up came while busy: walk again when done. */
  again: boolean;
  /** Not before this (a retry's time). */
  notBeforeMs: number;
  /** The next walk waits until then (WALK_GAP_MS), and the timer that starts it. */
  restUntilMs: number;
  restTimer: NodeJS.Timeout | undefined;
  /** The walk's cursor; ahead of the row's by the positions scanned since the last write. */
  cursor: number;
  persistedCursor: number;
  persistedMs: number;
  /** The row's `updated_ms` the cursor was taken from: a replay changes it. */
  seenUpdatedMs: number;
  /** Commit time of the oldest matching event not yet delivered; null when caught up. */
  pendingSinceMs: number | null;
  /** The row as last read (the lease, the filters, the secrets) and when; re-read after ROW_TTL_MS. */
  sealed: SealedEndpoint | undefined;
  sealedAtMs: number;
  /** Failures of the head event, and since when (the row's, kept current in memory). */
  failures: number;
  failingSinceMs: number | null;
  /** Attempts delivered but not yet written, the newest delivery's time, and when the first came. */
  pending: NewAttempt[];
  deliveredMs: number | null;
  firstPendingMs: number;
  flushTimer: NodeJS.Timeout | undefined;
}

/** An endpoint this node delivers, as the metrics see it. */
export interface HeldEndpoint {
  readonly id: string;
  readonly cursor: number;
  readonly pendingSinceMs: number | null;
}

export interface WebhookDispatcher {
  /** Looks for endpoints to claim and walks them now (a new endpoint, a replay). */
  wake(): void;
  /** Endpoints held by this node: id → cursor and lag (metrics). */
  heldEndpoints(): HeldEndpoint[];
  /** Stops, waits for the deliveries in flight, and gives the leases back. */
  stop(): Promise<void>;
}

/**
 * The background deliverer of one node. It claims endpoints with a lease (one node
 * delivers a given endpoint at a time; a dead node's leases run out and another takes
 * over), and walks each along the durable log from its cursor: what is due is never
 * kept anywhere but the log, so a crash or restart loses nothing and re-sends at most
 * the last unflushed deliveries (same `webhook-id`). One request at a time per
 * endpoint, in position order; a failing event holds back its endpoint only.
 */
export function startWebhookDispatcher(deps: DispatcherDeps): WebhookDispatcher {
  const { db, settings, log, metrics } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const owner = newId();
  const endpoints: EndpointStore = createEndpointStore(db.kysely, now);
  const held = new Map<string, Held>();
  let stopped = false;
  let running = 0;
  const queue: (() => void)[] = [];
  let lastRenewMs = 0;
  let lastPurgeMs = now();
  const flushMs = () => deps.flushMs?.() ?? FLUSH_MS;
  let ticking: Promise<void> | undefined;
  /** Walks and log writes in flight, an endpoint's even after it left `held`: stop waits for them. */
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>): Promise<void> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };
  let tickAgain = false;

  /** At most `concurrency` walks at once across the node's endpoints. */
  async function slot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= settings.concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    running += 1;
    try {
      return await work();
    } finally {
      running -= 1;
      queue.shift()?.();
    }
  }

  async function persist(
    state: Held,
    attempts: readonly NewAttempt[],
    deliveredMs: number | null,
    failing: FailingHead | null,
  ): Promise<boolean> {
    const kept = await db.transaction(async (trx: AnyKysely) => {
      const store = createEndpointStore(trx, now);
      const advanced = await store.advance(
        owner,
        state.id,
        state.cursor,
        deliveredMs,
        state.seenUpdatedMs,
        failing,
      );
      // Attempts made are logged even when the lease moved on or the endpoint changed;
      // an endpoint deleted meanwhile takes its log with it.
      if (advanced || (await store.exists(state.id))) {
        await createAttemptStore(trx).insert(attempts);
      }
      return advanced;
    });
    if (!kept) return false;
    state.persistedCursor = state.cursor;
    state.persistedMs = now();
    return true;
  }

  async function disable(sealed: SealedEndpoint, reason: DisabledReason) {
    held.delete(sealed.endpoint.id);
    if (!(await deps.disable(owner, sealed.endpoint, reason))) return;
    log.warn(
      {
        webhook: { endpoint_id: sealed.endpoint.id, tenant_id: sealed.endpoint.tenant_id, reason },
      },
      'webhook endpoint disabled',
    );
  }

  /**
   * Writes the attempts delivered so far and the cursor (with `failing`, the head's
   * failures, when it just failed). False when the row changed or the lease is gone:
   * the next walk re-reads it.
   */
  async function flush(state: Held, failing: FailingHead | null = null): Promise<boolean> {
    if (state.flushTimer) clearTimeout(state.flushTimer);
    state.flushTimer = undefined;
    const attempts = state.pending;
    state.pending = [];
    const ok = await persist(state, attempts, state.deliveredMs, failing);
    state.deliveredMs = null;
    if (!ok) {
      state.sealed = undefined;
      state.seenUpdatedMs = -1;
      state.again = true;
    }
    return ok;
  }

  /** Written within flushMs() of the first unwritten delivery, even when no walk follows. */
  function flushLater(state: Held): void {
    if (state.flushTimer || state.pending.length === 0) return;
    const wait = Math.max(0, state.firstPendingMs + flushMs() - now());
    state.flushTimer = setTimeout(() => {
      state.flushTimer = undefined;
      if (stopped || state.pending.length === 0) return;
      if (state.busy) {
        state.again = true; // the walk after this one writes them
        return;
      }
      state.busy = track(
        slot(async () => {
          await flush(state);
        })
          .catch((error: unknown) =>
            log.error(
              { err: error, webhook: { endpoint_id: state.id } },
              'webhook delivery log write failed',
            ),
          )
          .finally(() => {
            state.busy = undefined;
            if (state.again && held.has(state.id)) kick(state);
          }),
      );
    }, wait);
    state.flushTimer.unref();
  }

  /** The endpoint's row, from the walk before when fresh enough; undefined when no longer ours. */
  async function rowOf(state: Held): Promise<SealedEndpoint | undefined> {
    if (state.sealed && now() - state.sealedAtMs < ROW_TTL_MS) return state.sealed;
    const sealed = await endpoints.held(owner, state.id);
    if (!sealed) return undefined;
    const { endpoint } = sealed;
    if (endpoint.updated_ms !== state.seenUpdatedMs || endpoint.cursor_position > state.cursor) {
      // Replayed, re-enabled or changed elsewhere: the row's cursor is the truth again.
      if (state.pending.length > 0) await flush(state);
      state.cursor = endpoint.cursor_position;
      state.persistedCursor = endpoint.cursor_position;
      state.seenUpdatedMs = endpoint.updated_ms;
      state.failures = endpoint.attempts;
      state.failingSinceMs = endpoint.failing_since_ms;
    }
    state.sealed = sealed;
    state.sealedAtMs = now();
    return sealed;
  }

  /**
   * The head event failed: its attempt, the cursor and its failure count commit
   * together (a crash neither forgets the failure nor restarts the schedule), and the
   * endpoint waits for its next try, or is disabled when the receiver is gone or the
   * schedule ran out.
   */
  async function failed(state: Held, sealed: SealedEndpoint, outcome: SendOutcome) {
    const at = now();
    const failures = state.failures + 1;
    const delay = outcome.gone
      ? null
      : retryDelayMs(settings.retry_schedule_seconds, failures, random);
    const since = (state.failures > 0 ? state.failingSinceMs : null) ?? at;
    if (
      !(await flush(state, {
        attempts: failures,
        nextMs: delay === null ? 0 : at + delay,
        sinceMs: since,
      }))
    ) {
      return;
    }
    state.failures = failures;
    state.failingSinceMs = since;
    // The row's schedule changed: read it afresh next time.
    state.sealed = undefined;
    if (delay === null) return disable(sealed, outcome.gone ? 'gone' : 'failing');
    state.notBeforeMs = at + delay;
  }

  /** One walk: deliver what is due until caught up, a failure, a lost lease or a stop. */
  async function walk(state: Held): Promise<void> {
    const sealed = await rowOf(state);
    if (!sealed) {
      if (state.flushTimer) clearTimeout(state.flushTimer);
      held.delete(state.id);
      return;
    }
    const { endpoint } = sealed;
    if (endpoint.next_attempt_ms > now() && state.failures > 0) {
      state.notBeforeMs = endpoint.next_attempt_ms;
      return;
    }
    if (!(await deps.tenantActive(endpoint.tenant_id))) {
      state.notBeforeMs = now() + TENANT_RECHECK_POLLS * settings.poll_interval_ms;
      return;
    }
    for (let steps = 0; !stopped && steps < 1000; steps += 1) {
      const step = await deps.read(endpoint, state.cursor, BATCH);
      let next = 0;
      while (next < step.due.length && !stopped) {
        // Never more unwritten deliveries than FLUSH_EVERY: what a crash may re-send.
        const chunk = step.due.slice(next, next + Math.max(1, FLUSH_EVERY - state.pending.length));
        state.pendingSinceMs ??= Date.parse((chunk[0] as DueEvent).event.timestamp);
        if (state.pending.length === 0) state.firstPendingMs = now();
        const outcomes = await deps.send.sendInOrder(
          sealed,
          chunk.map(({ event, source }) => messageOf(endpoint.id, event, source)),
          'scheduled',
          state.failures + 1,
          FLUSH_MS,
        );
        next += outcomes.length;
        for (const [index, outcome] of outcomes.entries()) {
          metrics.attempted(outcome);
          state.pending.push(outcome.attempt);
          if (!outcome.delivered) return failed(state, sealed, outcome);
          if (state.failures > 0) state.sealed = undefined; // the row's schedule is cleared below
          state.failures = 0;
          state.failingSinceMs = null;
          state.deliveredMs = outcome.attempt.created_ms;
          state.cursor = (chunk[index] as DueEvent).event.position;
        }
        state.pendingSinceMs = null;
        if (state.pending.length >= FLUSH_EVERY || now() - state.firstPendingMs >= flushMs()) {
          if (!(await flush(state))) return;
        }
      }
      if (stopped) break;
      state.cursor = Math.max(state.cursor, step.scannedTo);
      if (step.caughtUp) {
        state.pendingSinceMs = null;
        break;
      }
    }
    if (stopped) {
      if (state.pending.length > 0) await flush(state);
      return;
    }
    const moved = state.cursor !== state.persistedCursor;
    if (state.pending.length > 0) flushLater(state);
    else if (moved && now() - state.persistedMs >= IDLE_PERSIST_MS) await flush(state);
  }

  function kick(state: Held): void {
    if (stopped) return;
    if (state.busy) {
      state.again = true;
      return;
    }
    if (state.notBeforeMs > now()) return;
    const rest = state.restUntilMs - now();
    if (rest > 0) {
      state.restTimer ??= setTimeout(() => {
        state.restTimer = undefined;
        if (held.has(state.id)) kick(state);
      }, rest).unref();
      return;
    }
    state.again = false;
    state.busy = track(
      slot(() => walk(state))
        .catch((error: unknown) => {
          log.error({ err: error, webhook: { endpoint_id: state.id } }, 'webhook delivery failed');
          // An unexpected error (the database away): try again at the next poll.
          state.notBeforeMs = now() + settings.poll_interval_ms;
        })
        .finally(() => {
          state.busy = undefined;
          state.restUntilMs = now() + (deps.walkGapMs?.() ?? WALK_GAP_MS);
          if (state.again && held.has(state.id)) kick(state);
        }),
    );
  }

  async function tick(): Promise<void> {
    const at = now();
    if (at - lastRenewMs >= settings.lease_ms / 3) {
      lastRenewMs = at;
      const kept = new Map(
        (await endpoints.renew(owner, [...held.keys()], at + settings.lease_ms)).map((row) => [
          row.id,
          row.updated_ms,
        ]),
      );
      for (const state of held.values()) {
        const updated = kept.get(state.id);
        if (updated === undefined) held.delete(state.id);
        // Replayed or re-scheduled through the API (perhaps on another node): look now.
        else if (updated !== state.seenUpdatedMs) {
          state.notBeforeMs = 0;
          state.sealed = undefined;
        }
      }
    }
    const claimed = await endpoints.claim(owner, at + settings.lease_ms, 100);
    for (const id of claimed) {
      if (held.has(id)) continue;
      held.set(id, {
        id,
        busy: undefined,
        again: false,
        notBeforeMs: 0,
        restUntilMs: 0,
        restTimer: undefined,
        cursor: -1,
        persistedCursor: -1,
        persistedMs: at,
        seenUpdatedMs: -1,
        pendingSinceMs: null,
        sealed: undefined,
        sealedAtMs: 0,
        failures: 0,
        failingSinceMs: null,
        pending: [],
        deliveredMs: null,
        firstPendingMs: 0,
        flushTimer: undefined,
      });
    }
    for (const state of held.values()) kick(state);
    if (at - lastPurgeMs >= PURGE_EVERY_MS) {
      lastPurgeMs = at;
      const cutoff = at - settings.attempt_retention_days * 86_400_000;
      // In slices, so no statement holds the writer long; bounded, the rest waits an hour.
      const attempts = createAttemptStore(db.kysely);
      for (let slice = 0; slice < 100 && !stopped; slice += 1) {
        if ((await attempts.purge(cutoff, 10_000)) < 10_000) break;
      }
    }
  }

  /**
   * Runs a claim pass. One woken for (`follow`: a new endpoint, a replay) while another
   * runs follows it, so it waits for no poll; a poll during one is skipped.
   */
  function runTick(follow = false): void {
    if (stopped) return;
    if (ticking) {
      if (follow) tickAgain = true;
      return;
    }
    tickAgain = false;
    ticking = tick()
      .catch((error: unknown) =>
        log.error({ err: error }, 'webhook dispatcher could not claim endpoints'),
      )
      .finally(() => {
        ticking = undefined;
        if (tickAgain) runTick(true);
      });
  }

  const timer = setInterval(() => runTick(), settings.poll_interval_ms);
  timer.unref();
  const unsubscribe = deps.notifier.subscribe((head) => {
    // Only walks that have something new to look at: an idle endpoint costs nothing here.
    for (const state of held.values()) if (head > state.cursor) kick(state);
  });
  runTick();

  return {
    wake() {
      // A change through the API on this node: walks read the rows afresh.
      for (const state of held.values()) state.sealed = undefined;
      runTick(true);
    },
    heldEndpoints: () =>
      [...held.values()].map((state) => ({
        id: state.id,
        cursor: state.cursor,
        pendingSinceMs: state.pendingSinceMs,
      })),
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await ticking;
      await Promise.all([...inFlight]);
      // Deliveries not yet written are written while the leases are still this node's.
      for (const state of held.values()) {
        if (state.pending.length > 0) await flush(state).catch(() => false);
        if (state.flushTimer) clearTimeout(state.flushTimer);
        if (state.restTimer) clearTimeout(state.restTimer);
      }
      await endpoints.release(owner, [...held.keys()]);
      held.clear();
    },
  };
}
