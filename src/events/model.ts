/**
 * The event and the shapes the event store moves around. JSON field names are the
 * API's (snake_case) so routes can return these objects as they are.
 */

/** `number`: the entity's current version must equal it (-1 is not accepted; use "no_stream"). */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

export interface NewEvent {
  /** Client-supplied UUID (lower-case canonical form); makes the append idempotent. */
  readonly id?: string | undefined;
  readonly event_type: string;
  readonly payload: unknown;
  readonly metadata?: Record<string, unknown> | undefined;
}

export interface StoredEvent {
  readonly id: string;
  readonly tenant_id: string;
  readonly entity_id: string;
  readonly event_type: string;
  /** 0-based and gapless per entity. */
  readonly version: number;
  /** Global, strictly increasing in commit order, gapless per deployment. */
  readonly position: number;
  /** Server time of the commit, RFC 3339 with milliseconds (UTC). */
  readonly timestamp: string;
  readonly payload: unknown;
  readonly metadata: Record<string, unknown>;
}

/** Events for one entity inside an append unit. */
export interface EntityAppend {
  readonly entity_id: string;
  readonly expected_version: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

/**
 * What must commit atomically: one request's events, for one entity
 * (`POST /entities/{id}/events`) or several (`POST /events`). Units from many
 * concurrent requests share one database transaction (group commit) but succeed or
 * fail independently.
 */
export interface AppendUnit {
  readonly tenant_id: string;
  readonly entities: readonly EntityAppend[];
  /** The tenant's append quotas, checked in the append's transaction; absent: none. */
  readonly limits?: AppendLimits | undefined;
}

/** Quotas an append is checked against; 0 means unlimited. */
export interface AppendLimits {
  /** Events the tenant may append per UTC day (by commit time). */
  readonly max_events_per_day: number;
  /** Bytes of payload and metadata JSON the tenant may store in all. */
  readonly max_storage_bytes: number;
}

export type AppendQuota = keyof AppendLimits;

export interface AppendedEvent {
  readonly id: string;
  readonly entity_id: string;
  readonly version: number;
  readonly position: number;
}

export interface AppendSuccess {
  readonly ok: true;
  /**
   * True when every event already existed with identical content (an idempotent
   * retry): nothing was written and `events` are the originals.
   */
  readonly duplicate: boolean;
  /** In request order, one per event. */
  readonly events: readonly AppendedEvent[];
  /** Last version of each entity of the unit after the append. */
  readonly last_versions: Readonly<Record<string, number>>;
}

export type AppendFailure =
  | {
      readonly ok: false;
      readonly reason: 'stream_version_conflict';
      readonly entity_id: string;
      readonly expected: ExpectedVersion;
      /** -1 when the entity has no events. */
      readonly actual: number;
    }
  | {
      readonly ok: false;
      readonly reason: 'duplicate_event_id';
      /** A client id that already exists with different content (or twice in the unit with different content). */
      readonly event_id: string;
    }
  | {
      readonly ok: false;
      readonly reason: 'quota_exceeded';
      readonly quota: AppendQuota;
      readonly limit: number;
      /** Usage before this unit (events today, or bytes stored). */
      readonly used: number;
      /** When the quota's window ends (epoch ms); null for quotas without one (storage). */
      readonly reset_at_ms: number | null;
    };

export type AppendOutcome = AppendSuccess | AppendFailure;

export type Direction = 'forward' | 'backward';

export interface ReadStreamOptions {
  /** Forward: first version returned (default 0). Backward: highest version returned (default: last). */
  readonly from_version?: number | undefined;
  readonly direction: Direction;
  readonly limit: number;
}

export interface EntitySummary {
  readonly entity_id: string;
  /** Current (last) version. */
  readonly version: number;
  readonly last_timestamp: string;
}

export interface ListEntitiesOptions {
  readonly prefix?: string | undefined;
  /** Entity id cursor: only ids sorting after it. */
  readonly after?: string | undefined;
  readonly limit: number;
}

export interface EventQuery {
  readonly entity_id?: string | undefined;
  /** Any of these types. */
  readonly event_types?: readonly string[] | undefined;
  /** Inclusive lower bound on `timestamp` (epoch ms). */
  readonly since_ms?: number | undefined;
  /** Exclusive upper bound on `timestamp` (epoch ms). */
  readonly until_ms?: number | undefined;
  /** Position cursor: asc → positions greater than it; desc → positions less than it. */
  readonly after_position?: number | undefined;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
}

export interface EventStats {
  readonly events: number;
  readonly entities: number;
  readonly event_types: number;
  /** Bytes of stored payload and metadata JSON. */
  readonly bytes: number;
}
