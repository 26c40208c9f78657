import type { StoredEvent } from '../model.ts';
import { type EventRecord, toStoredEvent } from '../row-to-event.ts';

const parseJson = (json: unknown) => JSON.parse(json as string);

/** SQLite keeps JSON as TEXT: parse it on the way out. */
export function parseRows(rows: readonly EventRecord[]): StoredEvent[] {
  return rows.map((row) => toStoredEvent(row, parseJson));
}
