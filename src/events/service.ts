import type { Config } from '../config/schema.ts';
import { TesseraError } from '../platform/errors.ts';
import { normalizeEvents } from './append-request.ts';
import { EventErrors } from './errors.ts';
import { createGroupCommitter, type GroupCommitter } from './group-commit.ts';
import type { LogNotifier } from './log-notifier.ts';
import type {
  AppendSuccess,
  EntityAppend,
  EntitySummary,
  EventQuery,
  EventStats,
  ExpectedVersion,
  ListEntitiesOptions,
  NewEvent,
  ReadStreamOptions,
  StoredEvent,
} from './model.ts';
import type { EventQuotas } from './quotas.ts';
import { type BoundedPage, readWithinBytes } from './read-within-bytes.ts';
import type { EventStore } from './store.ts';

/** One event of an ingest batch: it names its entity and may carry its own expected version. */
export interface IngestEvent extends NewEvent {
  readonly entity_id: string;
  readonly expected_version?: ExpectedVersion | undefined;
}

export interface EventService {
  /** Appends to one entity, atomically. `pathOf` names an event's place in the request. */
  appendToEntity(
    tenantId: string,
    entityId: string,
    events: readonly NewEvent[],
    expected: ExpectedVersion,
    pathOf: (index: number) => string,
  ): Promise<AppendSuccess>;
  /** Appends events across entities, atomically, each checked against its own expected version. */
  ingest(
    tenantId: string,
    events: readonly IngestEvent[],
    pathOf: (index: number) => string,
  ): Promise<AppendSuccess>;
  readStream(
    tenantId: string,
    entityId: string,
    options: ReadStreamOptions,
  ): Promise<StoredEvent[]>;
  /** One page of `readStream`, bounded by `storage.max_read_page_bytes` as well as by count. */
  readStreamPage(
    tenantId: string,
    entityId: string,
    options: ReadStreamOptions,
  ): Promise<BoundedPage>;
  /** Throws event_not_found. */
  getEvent(tenantId: string, eventId: string): Promise<StoredEvent>;
  listEntities(tenantId: string, options: ListEntitiesOptions): Promise<EntitySummary[]>;
  query(tenantId: string, query: EventQuery): Promise<StoredEvent[]>;
  /** One page of `query`, bounded by `storage.max_read_page_bytes` as well as by count. */
  queryPage(tenantId: string, query: EventQuery): Promise<BoundedPage>;
  stats(tenantId: string): Promise<EventStats>;
  /** The log's last position: where a live subscription without `from_position` starts. */
  headPosition(): Promise<number>;
  /** Counts one read toward the tenant's queries-per-hour quota; throws 429 when used up. */
  countQuery(tenantId: string): Promise<void>;
  /** Waits for every append accepted so far to settle (shutdown). */
  drain(): Promise<void>;
}

export interface EventServiceDeps {
  readonly store: EventStore;
  readonly notifier: LogNotifier;
  readonly storage: Pick<
    Config['storage'],
    'max_event_bytes' | 'max_batch_events' | 'max_read_page_bytes'
  >;
  /** The tenants' quotas; absent: nothing is limited. */
  readonly quotas?: EventQuotas | undefined;
  /** Runs after every append that wrote events (automatic snapshots). Must not throw. */
  readonly afterAppend?: ((tenantId: string, success: AppendSuccess) => Promise<void>) | undefined;
}

/** Events one group commit may carry: large enough to amortise the fsync, small enough to keep latency. */
const MAX_EVENTS_PER_COMMIT = 10_000;

export function createEventService(deps: EventServiceDeps): EventService {
  const { store, notifier, storage } = deps;
  // One transaction at a time: SQLite has one writer, and on PostgreSQL every append
  // serialises on the log head row anyway, so a second lane would only wait there.
  const committer: GroupCommitter = createGroupCommitter(store, {
    maxEventsPerCommit: MAX_EVENTS_PER_COMMIT,
    lanes: 1,
    notifier,
  });

  async function append(
    tenantId: string,
    entities: readonly EntityAppend[],
  ): Promise<AppendSuccess> {
    const limits = await deps.quotas?.appendLimits(tenantId);
    const outcome = await committer.submit({ tenant_id: tenantId, entities, limits });
    if (!outcome.ok) {
      if (outcome.reason === 'quota_exceeded') {
        throw (deps.quotas as EventQuotas).appendRefused(tenantId, outcome);
      }
      if (outcome.reason === 'duplicate_event_id') {
        throw new TesseraError(
          EventErrors.duplicate_event_id,
          `Event id ${outcome.event_id} already exists with different content (or is repeated in the request, or the request retries only some of its events).`,
          { extensions: { event_id: outcome.event_id } },
        );
      }
      throw new TesseraError(
        EventErrors.stream_version_conflict,
        `Entity ${JSON.stringify(outcome.entity_id)} is at version ${outcome.actual}; the request expected ${JSON.stringify(outcome.expected)}.`,
        {
          extensions: {
            entity_id: outcome.entity_id,
            expected: outcome.expected,
            actual: outcome.actual,
          },
        },
      );
    }
    if (!outcome.duplicate) await deps.afterAppend?.(tenantId, outcome);
    return outcome;
  }

  const bounded = (
    limit: number,
    readChunk: (after: StoredEvent | undefined, count: number) => Promise<StoredEvent[]>,
  ) => readWithinBytes(readChunk, limit, storage.max_read_page_bytes, storage.max_event_bytes);

  return {
    appendToEntity(tenantId, entityId, events, expected, pathOf) {
      checkWritable(entityId, undefined);
      const normalized = normalizeEvents(events, storage, pathOf);
      return append(tenantId, [
        { entity_id: entityId, expected_version: expected, events: normalized },
      ]);
    },
    ingest(tenantId, events, pathOf) {
      for (const [index, event] of events.entries()) checkWritable(event.entity_id, index);
      const normalized = normalizeEvents(events, storage, pathOf);
      return append(
        tenantId,
        events.map((event, index) => ({
          entity_id: event.entity_id,
          expected_version: event.expected_version ?? 'any',
          events: [stripRouting(normalized[index] as IngestEvent)],
        })),
      );
    },
    readStream: (tenantId, entityId, options) => store.readStream(tenantId, entityId, options),
    readStreamPage(tenantId, entityId, options) {
      const step = options.direction === 'forward' ? 1 : -1;
      return bounded(options.limit, (last, limit) => {
        if (last === undefined) return store.readStream(tenantId, entityId, { ...options, limit });
        const from_version = last.version + step;
        if (from_version < 0) return Promise.resolve([]);
        return store.readStream(tenantId, entityId, { ...options, from_version, limit });
      });
    },
    async getEvent(tenantId, eventId) {
      const event = await store.getEvent(tenantId, eventId);
      if (!event)
        throw new TesseraError(EventErrors.event_not_found, `No event has id ${eventId}.`);
      return event;
    },
    listEntities: (tenantId, options) => store.listEntities(tenantId, options),
    query: (tenantId, query) => store.query(tenantId, query),
    queryPage: (tenantId, query) =>
      bounded(query.limit, (last, limit) =>
        store.query(tenantId, {
          ...query,
          after_position: last?.position ?? query.after_position,
          limit,
        }),
      ),
    stats: (tenantId) => store.stats(tenantId),
    headPosition: () => store.headPosition(),
    countQuery: async (tenantId) => deps.quotas?.countQuery(tenantId),
    drain: () => committer.drain(),
  };
}

function stripRouting(event: IngestEvent): NewEvent {
  const { id, event_type, payload, metadata } = event;
  return { id, event_type, payload, metadata };
}

/**
 * Entities whose id starts with `$` are written by Tessera itself (`$audit`, the
 * audit trail): clients may read them, never append to them.
 */
function checkWritable(entityId: string, index: number | undefined): void {
  if (!entityId.startsWith('$')) return;
  throw new TesseraError(
    EventErrors.entity_reserved,
    `Entity ${JSON.stringify(entityId)} is written by Tessera itself: ids starting with $ are reserved.`,
    { extensions: { entity_id: entityId, ...(index === undefined ? {} : { index }) } },
  );
}
