import type { StoredEvent } from '../model.ts';
import { type EventRecord, toStoredEvent } from '../row-to-event.ts';

const alreadyParsed = (json: unknown) => json;

/** `pg` parses jsonb on the way out: the rows only need their shape. */
export function parseRows(rows: readonly EventRecord[]): StoredEvent[] {
  return rows.map((row) => toStoredEvent(row, alreadyParsed));
}
