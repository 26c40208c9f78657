import { isDeepStrictEqual } from 'node:util';
import type { AppendedEvent, AppendOutcome, AppendUnit, EntityAppend, NewEvent } from './model.ts';
import { type ExistingEvent, tenantKey } from './plan-append.ts';

/**
 * A unit whose every event carries an id that already exists with identical content
 * is a retry: it succeeds with the original result. Any other use of an existing id
 * (different content, or only some events already stored) is a conflict, as is an id
 * repeated within the unit.
 */
export function checkRetry(
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
