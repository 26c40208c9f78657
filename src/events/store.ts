import type { AnyKysely } from '../storage/database.ts';
import type {
  AppendOutcome,
  AppendUnit,
  EntitySummary,
  EventQuery,
  EventStats,
  ListEntitiesOptions,
  ReadStreamOptions,
  StoredEvent,
} from './model.ts';

/** What a subscription follows: entity ids starting with a prefix, any of some types. */
export interface LogFilter {
  readonly entity_prefix?: string | undefined;
  readonly event_types?: readonly string[] | undefined;
}

export interface EventStoreOptions {
  /** The clock of commit times, and so of the day an append counts toward (tests move it). */
  readonly now?: (() => number) | undefined;
  /**
   * Whether appends chain their events (docs/ledger.md); on unless false. Only the
   * benchmark turns it off, to measure the chain's cost on appends against the same
   * code without it (`npm run bench`, issue 22). Appends then store no hash and move
   * no ledger head: the log is as one from before migration 0018, which only the
   * start-up backfill chains. The server never sets it, and a database written so
   * must not be served before that backfill has run.
   */
  readonly chain?: boolean | undefined;
}

/** What every append of a store is given: its clock and whether it chains. */
export interface AppendSettings {
  readonly now: () => number;
  readonly chain: boolean;
}

/** The settings of a store opened with `options`. */
export function appendSettings(options: EventStoreOptions): AppendSettings {
  return { now: options.now ?? Date.now, chain: options.chain ?? true };
}

/**
 * The event store contract: one implementation per engine
 * (sqlite/sqlite-event-store.ts, postgres/postgres-event-store.ts), both passing
 * store.contract.ts. Every read takes the tenant
 * first and never returns another tenant's rows. Inputs are already validated by
 * the service (ids, types, sizes); stores enforce what only the database can:
 * versions, uniqueness, ordering, atomicity.
 */
export interface EventStore {
  /**
   * Appends every unit in ONE database transaction (group commit). Each unit is
   * atomic and independent: a unit whose expected version does not match, or whose
   * client id already exists with other content, fails alone and writes nothing,
   * while the others commit. Units are applied in array order, so a later unit sees
   * the versions written by an earlier one in the same call. A unit whose events
   * all exist with identical content succeeds with `duplicate: true` and writes
   * nothing. A unit carrying `limits` is checked against its tenant's usage, read
   * in the same transaction, and fails alone with `quota_exceeded` when it would go
   * over; every written unit adds to its tenant's usage counters in that transaction.
   * Resolves only after the transaction is durable; rejects (writing nothing at all)
   * only on an unexpected database error.
   */
  appendUnits(units: readonly AppendUnit[]): Promise<AppendOutcome[]>;

  /**
   * Appends `units` inside `trx`, a transaction of the store's database the caller
   * opened: the events commit with the caller's other writes or not at all (an audit
   * event and the change it records). Units are decided as in `appendUnits`
   * (versions, client ids, quotas), and a refused unit fails alone. Nothing here checks
   * who may write where, so only Tessera's own domains call it, for entities no
   * client can write (`$`-prefixed). It takes the log's write lock and holds it until
   * the caller's commit, so call it last; other nodes hear of the events on commit.
   */
  appendInTransaction(trx: AnyKysely, units: readonly AppendUnit[]): Promise<AppendOutcome[]>;

  readStream(
    tenantId: string,
    entityId: string,
    options: ReadStreamOptions,
  ): Promise<StoredEvent[]>;

  /** By event id: a client-supplied id or one the store generated. */
  getEvent(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;

  /** Entities ordered by id. */
  listEntities(tenantId: string, options: ListEntitiesOptions): Promise<EntitySummary[]>;

  /** Every filter is served by an index; results ordered by position. */
  query(tenantId: string, query: EventQuery): Promise<StoredEvent[]>;

  /**
   * The tenant's log after `afterPosition`, ascending, at most `limit`, optionally
   * filtered by entity id prefix and types: what subscriptions catch up from. Never
   * skips an event that becomes visible later with a lower position.
   */
  readLog(
    tenantId: string,
    afterPosition: number,
    limit: number,
    filter?: LogFilter,
  ): Promise<StoredEvent[]>;

  /** The highest committed position of the deployment (0 when empty). */
  headPosition(): Promise<number>;

  stats(tenantId: string): Promise<EventStats>;
}
