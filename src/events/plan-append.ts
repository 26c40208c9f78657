import {
  type ChainEnd,
  type ChainLinker,
  createChainLinker,
  type LedgerHeadChange,
} from './chain/chain-linker.ts';
import { checkRetry } from './check-retry.ts';
import { generatedEventId } from './event-id.ts';
import type {
  AppendedEvent,
  AppendOutcome,
  AppendUnit,
  ExpectedVersion,
  NewEvent,
  StoredEvent,
} from './model.ts';
import {
  commitTime,
  createUsageTracker,
  dayStart,
  needsBytes,
  type TenantUsage,
  type UsageChange,
} from './plan-quota.ts';
import type { EventRecord } from './row-to-event.ts';

/** An event already stored under a client-supplied id, as the engine read it back. */
export interface ExistingEvent {
  readonly id: string;
  readonly entity_id: string;
  readonly event_type: string;
  readonly version: number;
  readonly position: number;
  readonly payload: unknown;
  readonly metadata: Record<string, unknown>;
}

/** One row for the `events` table, JSON serialised once, here, with its chain hash. */
export interface EventRow extends EventRecord {
  readonly payload: string;
  readonly metadata: string;
  /** Null only when the store does not chain (EventStoreOptions.chain). */
  readonly hash: string | null;
}

/** The new summary row of an entity the transaction wrote to; `bytes` is the increment. */
export interface EntityChange {
  readonly tenant_id: string;
  readonly entity_id: string;
  readonly version: number;
  readonly last_position: number;
  readonly last_time_ms: number;
  readonly bytes: number;
}

export interface TypeChange {
  readonly tenant_id: string;
  readonly event_type: string;
  /** Increment. */
  readonly events: number;
}

/** What the engine already holds, read before planning (inside the transaction). */
export interface AppendState {
  /** Current version of each entity the units touch, -1 when it has no events. */
  readonly versions: ReadonlyMap<string, number>;
  /** Events stored under the client ids the units carry. */
  readonly existing: ReadonlyMap<string, ExistingEvent>;
  /** By tenant id: usage of every tenant with a limited unit (see `limitedTenants`). */
  readonly usage: ReadonlyMap<string, TenantUsage>;
  /**
   * By partition (`tenant_id`): the `ledger_heads` row of every partition the units
   * append to that has one. It must be read under the ordering the log guarantees
   * (SQLite's write transaction, PostgreSQL's head lock) so that no other commit
   * chains onto the same head.
   *
   * A partition with events but no head, or a head behind its events (stored before
   * migration 0018 and not yet backfilled), is not looked for here: the backfill
   * chains every partition at start-up, before the server serves. Were an append to
   * run before it, its events would chain from GENESIS_HASH (or the stale head) and
   * the verifiers would report a hash_mismatch at the first event chained after the
   * gap; the events themselves stay as they were stored.
   */
  readonly heads: ReadonlyMap<string, ChainEnd>;
}

export interface AppendPlan {
  readonly outcomes: AppendOutcome[];
  readonly rows: EventRow[];
  readonly entities: EntityChange[];
  readonly types: TypeChange[];
  /** Increments of the tenants' `quota_usage` counters, for the day `day_start_ms`. */
  readonly usage: UsageChange[];
  readonly day_start_ms: number;
  /** The log head after the commit (unchanged when nothing is written). */
  readonly head: { readonly position: number; readonly time_ms: number };
  /** The new `ledger_heads` row of every partition written to (`chained`: increment). */
  readonly heads: LedgerHeadChange[];
}

/** Map key of a tenant's entity or client id. NUL never occurs in either (schemas forbid it). */
export const tenantKey = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;

/** The (tenant, entity) pairs and (tenant, client id) pairs an engine must look up. */
export function lookupsFor(units: readonly AppendUnit[]) {
  const entities = new Map<string, { tenant_id: string; entity_id: string }>();
  const clientIds = new Map<string, { tenant_id: string; id: string }>();
  for (const unit of units) {
    for (const entity of unit.entities) {
      entities.set(tenantKey(unit.tenant_id, entity.entity_id), {
        tenant_id: unit.tenant_id,
        entity_id: entity.entity_id,
      });
      for (const event of entity.events) {
        if (event.id !== undefined) {
          clientIds.set(tenantKey(unit.tenant_id, event.id), {
            tenant_id: unit.tenant_id,
            id: event.id,
          });
        }
      }
    }
  }
  return {
    entities: [...entities.values()],
    clientIds: [...clientIds.values()],
    /** The partitions (`tenant_id`s) whose `ledger_heads` rows the append reads. */
    partitions: [...new Set(units.map((unit) => unit.tenant_id))],
  };
}

/**
 * Decides every unit of one transaction in memory, in order, from what the engine
 * read: idempotent retries first (a retry after success must not fail on the version
 * it moved), then expected versions, then quotas, then positions. A later unit sees
 * what an earlier one wrote. Failed units contribute nothing. All events of the
 * commit share one time (see `commitTime`), so a time filter can become a position
 * range.
 */
export function planAppend(
  units: readonly AppendUnit[],
  state: AppendState,
  head: { readonly position: number; readonly time_ms: number },
  nowMs: number,
  chained = true,
): AppendPlan {
  const versions = new Map(state.versions);
  // Client ids this transaction writes, checked like stored ones by later units.
  const written = new Map<string, ExistingEvent>();
  const known = (key: string) => state.existing.get(key) ?? written.get(key);
  const time_ms = commitTime(head, nowMs);
  const timestamp = new Date(time_ms).toISOString();
  const chain = chained ? createChainLinker(state.heads) : undefined;
  const usage = createUsageTracker(state.usage, time_ms);
  const rows: EventRow[] = [];
  const entities = new Map<string, EntityChange>();
  const types = new Map<string, TypeChange>();
  let position = head.position;

  const outcomes = units.map((unit): AppendOutcome => {
    const retry = checkRetry(unit, known);
    if (retry) return retry;
    const conflict = checkVersions(unit, versions);
    if (conflict) return conflict;
    // Serialised ahead only when a storage limit needs the size; reused for the rows.
    const texts = needsBytes(unit) ? serializeUnit(unit) : undefined;
    const refused = usage.check(unit, texts?.bytes ?? 0);
    if (refused) return refused;

    const appended: AppendedEvent[] = [];
    const last_versions: Record<string, number> = {};
    let unitBytes = 0;
    for (const entity of unit.entities) {
      const key = tenantKey(unit.tenant_id, entity.entity_id);
      let version = versions.get(key) ?? -1;
      let bytes = 0;
      for (const event of entity.events) {
        version++;
        position++;
        const at = appended.length * 2;
        const payload = texts
          ? (texts.json[at] as string)
          : (JSON.stringify(event.payload) ?? 'null');
        const metadata = texts
          ? (texts.json[at + 1] as string)
          : JSON.stringify(event.metadata ?? {});
        const id = event.id ?? generatedEventId(position);
        const row: EventRow = {
          position,
          tenant_id: unit.tenant_id,
          entity_id: entity.entity_id,
          version,
          event_type: event.event_type,
          time_ms,
          payload,
          metadata,
          client_id: event.id ?? null,
          hash: chain
            ? linkEvent(chain, unit.tenant_id, entity.entity_id, event, {
                id,
                version,
                position,
                timestamp,
                payload,
                metadata,
              })
            : null,
        };
        rows.push(row);
        bytes += Buffer.byteLength(row.payload) + Buffer.byteLength(row.metadata);
        appended.push({ id, entity_id: entity.entity_id, version, position });
        if (event.id !== undefined)
          written.set(tenantKey(unit.tenant_id, event.id), writtenEvent(row, id));
        countType(types, unit.tenant_id, event.event_type);
      }
      unitBytes += bytes;
      versions.set(key, version);
      last_versions[entity.entity_id] = version;
      const before = entities.get(key);
      entities.set(key, {
        tenant_id: unit.tenant_id,
        entity_id: entity.entity_id,
        version,
        last_position: position,
        last_time_ms: time_ms,
        bytes: (before?.bytes ?? 0) + bytes,
      });
    }
    usage.add(unit.tenant_id, appended.length, unitBytes);
    return { ok: true, duplicate: false, events: appended, last_versions };
  });

  return {
    outcomes,
    rows,
    entities: [...entities.values()],
    types: [...types.values()],
    usage: usage.changes(),
    day_start_ms: dayStart(time_ms),
    head: rows.length > 0 ? { position, time_ms } : head,
    heads: chain?.changes() ?? [],
  };
}

/** Payload and metadata JSON of every event of the unit, in order, and their size. */
function serializeUnit(unit: AppendUnit): { json: string[]; bytes: number } {
  const json: string[] = [];
  let bytes = 0;
  for (const entity of unit.entities) {
    for (const event of entity.events) {
      const payload = JSON.stringify(event.payload) ?? 'null';
      const metadata = JSON.stringify(event.metadata ?? {});
      json.push(payload, metadata);
      bytes += Buffer.byteLength(payload) + Buffer.byteLength(metadata);
    }
  }
  return { json, bytes };
}

function checkVersions(
  unit: AppendUnit,
  versions: ReadonlyMap<string, number>,
): AppendOutcome | undefined {
  // Entities may repeat within a unit (one per event of an ingest batch), so track
  // the versions the unit itself will reach.
  const running = new Map<string, number>();
  for (const entity of unit.entities) {
    const key = tenantKey(unit.tenant_id, entity.entity_id);
    const actual = running.get(key) ?? versions.get(key) ?? -1;
    if (!versionMatches(entity.expected_version, actual)) {
      return {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: entity.entity_id,
        expected: entity.expected_version,
        actual,
      };
    }
    running.set(key, actual + entity.events.length);
  }
  return undefined;
}

function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}

/**
 * The event's chain hash, computed on its chained form: the event as a reader rebuilds
 * it from the row (row-to-event.ts). The values hashed are the ones just serialised
 * rather than the text parsed back: for what passes the door (finite numbers, well
 * formed strings, no cycles) canonicalize and JSON.stringify agree value for value,
 * so both give what JSON.parse of the stored text gives, and nothing is parsed twice.
 * Only a payload or metadata that serialised to nothing or to null is stored, and
 * so hashed, as null. A value canonicalize refuses (NaN, an infinity, a lone
 * surrogate) throws and fails the commit: the door refuses such input first
 * (http/json-inspection.ts, append-request.ts), so only a caller's bug gets here.
 */
function linkEvent(
  chain: ChainLinker,
  tenant_id: string,
  entity_id: string,
  event: NewEvent,
  stored: {
    readonly id: string;
    readonly version: number;
    readonly position: number;
    readonly timestamp: string;
    /** The JSON texts the row holds. */
    readonly payload: string;
    readonly metadata: string;
  },
): string {
  const { id, version, position, timestamp } = stored;
  return chain.link({
    id,
    tenant_id,
    entity_id,
    event_type: event.event_type,
    version,
    position,
    timestamp,
    payload: stored.payload === 'null' ? null : event.payload,
    // As a reader types it too (row-to-event.ts): stored JSON, whatever its kind.
    metadata: (stored.metadata === 'null'
      ? null
      : (event.metadata ?? {})) as StoredEvent['metadata'],
  });
}

/** JSON is parsed only if a later unit of the same commit reuses the id (rare). */
function writtenEvent(row: EventRow, id: string): ExistingEvent {
  const { entity_id, event_type, version, position } = row;
  return {
    id,
    entity_id,
    event_type,
    version,
    position,
    get payload() {
      return JSON.parse(row.payload);
    },
    get metadata() {
      return JSON.parse(row.metadata);
    },
  };
}

function countType(types: Map<string, TypeChange>, tenant_id: string, event_type: string): void {
  const key = tenantKey(tenant_id, event_type);
  types.set(key, { tenant_id, event_type, events: (types.get(key)?.events ?? 0) + 1 });
}
