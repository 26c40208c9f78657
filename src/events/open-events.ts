import type { Config } from '../config/schema.ts';
import type { Database } from '../storage/open-database.ts';
import { type ChainLog, openChainLog } from './chain/chain-log.ts';
import { createLocalNotifier } from './local-notifier.ts';
import type { LogNotifier } from './log-notifier.ts';
import { openEventStore } from './open-event-store.ts';
import { createPgNotifier } from './postgres/pg-notifier.ts';
import type { EventQuotas } from './quotas.ts';
import { createEventService, type EventService } from './service.ts';
import { createSnapshotStore } from './snapshot-store.ts';
import { createStateService, type StateService } from './state-service.ts';
import type { EventStore } from './store.ts';
import { createSubscriptionHub, type SubscriptionHub } from './subscriptions/subscription-hub.ts';

/** The event store domain as the app uses it. */
export interface Events {
  readonly service: EventService;
  /** The log itself, for the CLI's statistics and tests that read beneath the service. */
  readonly store: EventStore;
  /** The log's hash chains, as the ledger reads them (and the backfill writes them). */
  readonly chain: ChainLog;
  readonly state: StateService;
  readonly notifier: LogNotifier;
  /** Live subscriptions (SSE and WebSocket share it, so a tenant has one tailer). */
  readonly subscriptions: SubscriptionHub;
  /** Lets accepted appends finish, then stops the notifier. */
  close(): Promise<void>;
}

export interface OpenEventsOptions {
  /** The tenants' quotas (tenancy's); absent: nothing is limited. */
  readonly quotas?: EventQuotas | undefined;
  /** The clock of commit times (tests move it across a day). */
  readonly now?: () => number;
  readonly onSnapshotError?: (error: unknown, entityId: string) => void;
  /** The PostgreSQL notifier lost its connection or a poll failed; it recovers by itself. */
  readonly onNotifierError?: (error: unknown) => void;
  /** A subscription's read of the log failed (the subscriber is closed with a reason). */
  readonly onSubscriptionError?: (error: unknown, tenantId: string) => void;
}

export async function openEvents(
  db: Database,
  config: Config,
  options: OpenEventsOptions = {},
): Promise<Events> {
  const store = openEventStore(db, { now: options.now });
  const notifier = await openNotifier(db, options);
  const state = createStateService({
    store,
    snapshots: createSnapshotStore(db),
    snapshotEvery: config.storage.snapshot_every_events,
    storage: config.storage,
    onSnapshotError: options.onSnapshotError,
  });
  const service = createEventService({
    store,
    notifier,
    storage: config.storage,
    quotas: options.quotas,
    afterAppend: state.afterAppend,
  });
  const subscriptions = createSubscriptionHub({
    store,
    notifier,
    settings: config.subscriptions,
    maxEventBytes: config.storage.max_event_bytes,
    onError: (error, tenantId) => options.onSubscriptionError?.(error, tenantId),
  });
  return {
    service,
    store,
    chain: openChainLog(db),
    state,
    notifier,
    subscriptions,
    async close() {
      await service.drain();
      await notifier.close();
    },
  };
}

/** SQLite has one writing process; PostgreSQL nodes hear each other's commits. */
function openNotifier(db: Database, options: OpenEventsOptions): Promise<LogNotifier> {
  return db.byEngine({
    sqlite: async () => createLocalNotifier(),
    postgres: (postgres) => createPgNotifier(postgres, { onError: options.onNotifierError }),
  });
}
