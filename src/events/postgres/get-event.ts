import type pg from 'pg';
import { positionOfGeneratedId } from '../event-id.ts';
import type { StoredEvent } from '../model.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';

// A generated id is the position itself: a primary-key lookup. It names the event
// only if the event has no client id (which would be its id instead).
const BY_POSITION = `SELECT ${EVENT_COLUMNS} FROM events
 WHERE position = $1 AND tenant_id = $2 AND client_id IS NULL`;
const BY_CLIENT_ID = `SELECT ${EVENT_COLUMNS} FROM events
 WHERE tenant_id = $1 AND client_id = $2::uuid AND client_id IS NOT NULL`;

// Only the canonical form: PostgreSQL would also accept braces or no hyphens, and
// anything it rejects would fail the query instead of finding nothing.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function getEvent(
  pool: pg.Pool,
  tenantId: string,
  eventId: string,
): Promise<StoredEvent | undefined> {
  const id = eventId.toLowerCase();
  const position = positionOfGeneratedId(id);
  if (position === undefined && !UUID.test(id)) return undefined;
  const { rows } = await pool.query<EventRecord>(
    position === undefined
      ? { name: 'tessera_events_get_by_client_id', text: BY_CLIENT_ID, values: [tenantId, id] }
      : { name: 'tessera_events_get_by_position', text: BY_POSITION, values: [position, tenantId] },
  );
  return parseRows(rows)[0];
}
