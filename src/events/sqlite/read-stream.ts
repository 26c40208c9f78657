import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { ReadStreamOptions, StoredEvent } from '../model.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';
import { prepared } from './statements.ts';

const FORWARD = `SELECT ${EVENT_COLUMNS} FROM events
  WHERE tenant_id = ? AND entity_id = ? AND version >= ? ORDER BY version LIMIT ?`;
const BACKWARD = `SELECT ${EVENT_COLUMNS} FROM events
  WHERE tenant_id = ? AND entity_id = ? AND version <= ? ORDER BY version DESC LIMIT ?`;

/** One entity's events by version, over the (tenant_id, entity_id, version) index. */
export function readStream(
  db: SqliteDatabase,
  tenantId: string,
  entityId: string,
  options: ReadStreamOptions,
): Promise<StoredEvent[]> {
  const forward = options.direction === 'forward';
  const from = options.from_version ?? (forward ? 0 : Number.MAX_SAFE_INTEGER);
  return db.withRaw((raw) =>
    parseRows(
      prepared(raw, forward ? FORWARD : BACKWARD).all(
        tenantId,
        entityId,
        from,
        options.limit,
      ) as unknown as EventRecord[],
    ),
  );
}
