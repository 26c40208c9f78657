import { servableJson } from './deep-json.ts';
import { generatedEventId } from './event-id.ts';
import type { StoredEvent } from './model.ts';

/** An `events` row as either engine returns it (SQLite: JSON as text; PostgreSQL: parsed jsonb). */
export interface EventRecord {
  readonly position: number;
  readonly tenant_id: string;
  readonly entity_id: string;
  readonly version: number;
  readonly event_type: string;
  readonly time_ms: number;
  readonly payload: unknown;
  readonly metadata: unknown;
  readonly client_id: string | null;
}

/** Columns to select for `toStoredEvent`, in both engines. */
export const EVENT_COLUMNS =
  'position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id';

/**
 * `parse` turns the stored JSON into values (JSON.parse on SQLite, identity on
 * PostgreSQL). A value nested too deep to serialize is served as its JSON text
 * (deep-json.ts), so that no stored event can break a read.
 */
export function toStoredEvent(row: EventRecord, parse: (json: unknown) => unknown): StoredEvent {
  const event = toChainedEvent(row, parse);
  return {
    ...event,
    payload: servableJson(event.payload, row.payload),
    metadata: servableJson(event.metadata, row.metadata) as Record<string, unknown>,
  };
}

/**
 * The event as the ledger chains it (docs/ledger.md): the stored JSON values
 * themselves, however deep, never the text `toStoredEvent` may serve in their place.
 * `timestamp` formats `time_ms` (lastTimestampMemo for a page of rows).
 */
export function toChainedEvent(
  row: EventRecord,
  parse: (json: unknown) => unknown,
  timestamp: (timeMs: number) => string = rfc3339,
): StoredEvent {
  return {
    id: row.client_id ?? generatedEventId(row.position),
    tenant_id: row.tenant_id,
    entity_id: row.entity_id,
    event_type: row.event_type,
    version: row.version,
    position: row.position,
    timestamp: timestamp(row.time_ms),
    payload: parse(row.payload),
    metadata: parse(row.metadata) as Record<string, unknown>,
  };
}

/** An `events` row read with its chain hash (`hash`, null when unchained). */
export type HashedRecord = EventRecord & { readonly hash: string | null };

/**
 * `toChainedEvent` with the row's stored hash, added to the event built rather than
 * copied into another object: what the ledger's readers return for every event they
 * verify.
 */
export function toChainRow(
  row: HashedRecord,
  parse: (json: unknown) => unknown,
  timestamp: (timeMs: number) => string = rfc3339,
): StoredEvent & { readonly hash: string | null } {
  return Object.assign(toChainedEvent(row, parse, timestamp), { hash: row.hash });
}

function rfc3339(timeMs: number): string {
  return new Date(timeMs).toISOString();
}

/**
 * The RFC 3339 form of a time, remembering the last one: the events of one append
 * share their time, so a reader of many in a row formats each time once.
 */
export function lastTimestampMemo(): (timeMs: number) => string {
  let lastMs = Number.NaN;
  let last = '';
  return (timeMs) => {
    if (timeMs !== lastMs) {
      last = rfc3339(timeMs);
      lastMs = timeMs;
    }
    return last;
  };
}
