import { applyMergePatch } from './merge-patch.ts';
import type { StoredEvent } from './model.ts';

/** An entity's state as of one version: every payload up to it merged in order. */
export interface EntityState {
  readonly entity_id: string;
  readonly version: number;
  /** Timestamp of the event at `version`. */
  readonly last_updated: string;
  readonly state: unknown;
}

/**
 * Applies each event's payload as an RFC 7396 merge patch onto `start` (a snapshot)
 * or onto `null`. Events must be the entity's next versions in order, with no gap:
 * a state folded from a partial history would look valid and be wrong, so a gap,
 * a repeat or another entity's event throws. Undefined when there is nothing at all.
 */
export function foldState(
  start: EntityState | undefined,
  events: readonly StoredEvent[],
): EntityState | undefined {
  let current = start;
  for (const event of events) {
    assertNext(current, event);
    current = {
      entity_id: event.entity_id,
      version: event.version,
      last_updated: event.timestamp,
      state: applyMergePatch(current === undefined ? null : current.state, event.payload),
    };
  }
  return current;
}

function assertNext(current: EntityState | undefined, event: StoredEvent): void {
  const expected = current === undefined ? 0 : current.version + 1;
  if (current !== undefined && event.entity_id !== current.entity_id) {
    throw new Error(
      `foldState: event of entity ${JSON.stringify(event.entity_id)} folded into ${JSON.stringify(current.entity_id)}`,
    );
  }
  if (event.version !== expected) {
    throw new Error(
      `foldState: expected version ${expected} of ${JSON.stringify(event.entity_id)}, got ${event.version}`,
    );
  }
}
