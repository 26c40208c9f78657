import { isDeepStrictEqual } from 'node:util';
import { generatedEventId } from './event-id.ts';
import type {
  AppendedEvent,
  AppendOutcome,
  AppendUnit,
  EntityAppend,
  ExpectedVersion,
  NewEvent,
} from './model.ts';
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

/** One row for the `events` table, JSON serialised once, here. */
export interface EventRow extends EventRecord {
  readonly payload: string;
  readonly metadata: string;
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
}

export interface AppendPlan {
  readonly outcomes: AppendOutcome[];
  readonly rows: EventRow[];
  readonly entities: EntityChange[];
  readonly types: TypeChange[];
  /** The log head after the commit (unchanged when nothing is written). */
  readonly head: { readonly position: number; readonly time_ms: number };
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
  return { entities: [...entities.values()], clientIds: [...clientIds.values()] };
}

/**
 * Decides every unit of one transaction in memory, in order, from what the engine
 * read: idempotent retries first (a retry after success must not fail on the version
 * it moved), then expected versions, then positions. A later unit sees what an
 * earlier one wrote. Failed units contribute nothing. All events of the commit share
 * one time, never earlier than the previous commit's, so time order follows position
 * order and a time filter can become a position range.
 */
export function planAppend(
  units: readonly AppendUnit[],
  state: AppendState,
  head: { readonly position: number; readonly time_ms: number },
  nowMs: number,
): AppendPlan {
  const versions = new Map(state.versions);
  // Client ids this transaction writes, checked like stored ones by later units.
  const written = new Map<string, ExistingEvent>();
  const known = (key: string) => state.existing.get(key) ?? written.get(key);
  const time_ms = Math.max(nowMs, head.time_ms);
  const rows: EventRow[] = [];
  const entities = new Map<string, EntityChange>();
  const types = new Map<string, TypeChange>();
  let position = head.position;

  const outcomes = units.map((unit): AppendOutcome => {
    const retry = checkRetry(unit, known);
    if (retry) return retry;
    const conflict = checkVersions(unit, versions);
    if (conflict) return conflict;

    const appended: AppendedEvent[] = [];
    const last_versions: Record<string, number> = {};
    for (const entity of unit.entities) {
      const key = tenantKey(unit.tenant_id, entity.entity_id);
      let version = versions.get(key) ?? -1;
      let bytes = 0;
      for (const event of entity.events) {
        version++;
        position++;
        const row = toRow(unit.tenant_id, entity.entity_id, event, version, position, time_ms);
        rows.push(row);
        bytes += Buffer.byteLength(row.payload) + Buffer.byteLength(row.metadata);
        const id = event.id ?? generatedEventId(position);
        appended.push({ id, entity_id: entity.entity_id, version, position });
        if (event.id !== undefined)
          written.set(tenantKey(unit.tenant_id, event.id), writtenEvent(row, id));
        countType(types, unit.tenant_id, event.event_type);
      }
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
    return { ok: true, duplicate: false, events: appended, last_versions };
  });

  return {
    outcomes,
    rows,
    entities: [...entities.values()],
    types: [...types.values()],
    head: rows.length > 0 ? { position, time_ms } : head,
  };
}

/**
 * A unit whose every event carries an id that already exists with identical content
 * is a retry: it succeeds with the original result. Any other use of an existing id
 * (different content, or only some events already stored) is a conflict, as is an id
 * repeated within the unit.
 */
function checkRetry(
  unit: AppendUnit,
  known: (key: string) => ExistingEvent | undefined,
): AppendOutcome | undefined {
  const seen = new Set<string>();
  const originals: AppendedEvent[] = [];
  let fresh: string | undefined;
  for (const entity of unit.entities) {
    for (const event of entity.events) {
      if (event.id === undefined) {
        fresh ??= '';
        continue;
      }
      if (seen.has(event.id)) return duplicateId(event.id);
      seen.add(event.id);
      const stored = known(tenantKey(unit.tenant_id, event.id));
      if (!stored) {
        fresh ??= event.id;
        continue;
      }
      if (!sameContent(stored, entity, event)) return duplicateId(event.id);
      originals.push({
        id: stored.id,
        entity_id: stored.entity_id,
        version: stored.version,
        position: stored.position,
      });
    }
  }
  if (originals.length === 0) return undefined;
  if (fresh !== undefined) return duplicateId((originals[0] as AppendedEvent).id);
  const last_versions: Record<string, number> = {};
  for (const event of originals) {
    last_versions[event.entity_id] = Math.max(last_versions[event.entity_id] ?? -1, event.version);
  }
  return { ok: true, duplicate: true, events: originals, last_versions };
}

function sameContent(stored: ExistingEvent, entity: EntityAppend, event: NewEvent): boolean {
  return (
    stored.entity_id === entity.entity_id &&
    stored.event_type === event.event_type &&
    isDeepStrictEqual(stored.payload, normalizeJson(event.payload)) &&
    isDeepStrictEqual(stored.metadata, normalizeJson(event.metadata ?? {}))
  );
}

/** What the value looks like after a JSON round trip (the form the store reads back). */
function normalizeJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null');
}

const duplicateId = (event_id: string): AppendOutcome => ({
  ok: false,
  reason: 'duplicate_event_id',
  event_id,
});

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

function toRow(
  tenant_id: string,
  entity_id: string,
  event: NewEvent,
  version: number,
  position: number,
  time_ms: number,
): EventRow {
  return {
    position,
    tenant_id,
    entity_id,
    version,
    event_type: event.event_type,
    time_ms,
    payload: JSON.stringify(event.payload) ?? 'null',
    metadata: JSON.stringify(event.metadata ?? {}),
    client_id: event.id ?? null,
  };
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
