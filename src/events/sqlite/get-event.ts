import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import { positionOfGeneratedId } from '../event-id.ts';
import type { StoredEvent } from '../model.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';
import { prepared } from './statements.ts';

// A generated id is the position: a primary key lookup. The row must not carry a
// client id, or the event's id is that client id, not this one.
const BY_POSITION = `SELECT ${EVENT_COLUMNS} FROM events
  WHERE position = ? AND tenant_id = ? AND client_id IS NULL`;
const BY_CLIENT_ID = `SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = ? AND client_id = ?`;

export function getEvent(
  db: SqliteDatabase,
  tenantId: string,
  eventId: string,
): Promise<StoredEvent | undefined> {
  const id = eventId.toLowerCase();
  const position = positionOfGeneratedId(id);
  return db.withRaw((raw) => {
    const row =
      position === undefined
        ? prepared(raw, BY_CLIENT_ID).get(tenantId, id)
        : prepared(raw, BY_POSITION).get(position, tenantId);
    return row ? parseRows([row as unknown as EventRecord])[0] : undefined;
  });
}
