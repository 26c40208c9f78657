import type pg from 'pg';
import type { ReadStreamOptions, StoredEvent } from '../model.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';

// Both directions walk events_entity_version. The bound is int8 so any safe integer
// compares without overflowing the integer column; backward with no bound starts at the last.
const FORWARD = `SELECT ${EVENT_COLUMNS} FROM events
 WHERE tenant_id = $1 AND entity_id = $2 AND version >= $3::bigint
 ORDER BY version LIMIT $4`;
const BACKWARD = `SELECT ${EVENT_COLUMNS} FROM events
 WHERE tenant_id = $1 AND entity_id = $2 AND version <= $3::bigint
 ORDER BY version DESC LIMIT $4`;

export async function readStream(
  pool: pg.Pool,
  tenantId: string,
  entityId: string,
  options: ReadStreamOptions,
): Promise<StoredEvent[]> {
  const forward = options.direction === 'forward';
  const from = options.from_version ?? (forward ? 0 : Number.MAX_SAFE_INTEGER);
  const { rows } = await pool.query<EventRecord>({
    name: forward ? 'tessera_events_read_forward' : 'tessera_events_read_backward',
    text: forward ? FORWARD : BACKWARD,
    values: [tenantId, entityId, from, options.limit],
  });
  return parseRows(rows);
}
