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
 */
export function toChainedEvent(row: EventRecord, parse: (json: unknown) => unknown): StoredEvent {
  return {
    id: row.client_id ?? generatedEventId(row.position),
    tenant_id: row.tenant_id,
    entity_id: row.entity_id,
    event_type: row.event_type,
    version: row.version,
    position: row.position,
    timestamp: new Date(row.time_ms).toISOString(),
    payload: parse(row.payload),
    metadata: parse(row.metadata) as Record<string, unknown>,
  };
}
