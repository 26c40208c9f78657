import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { StoredEvent } from '../model.ts';
import { prefixUpperBound } from '../prefix-range.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import type { LogFilter } from '../store.ts';
import { parseRows } from './parse-rows.ts';
import { prepared } from './statements.ts';

/**
 * The tenant's log in position order over (tenant, position). SQLite has a single
 * writer, so a position is visible only after every lower one: nothing to wait for.
 */
export function readLog(
  db: SqliteDatabase,
  tenantId: string,
  afterPosition: number,
  limit: number,
  filter: LogFilter = {},
): Promise<StoredEvent[]> {
  const where = ['tenant_id = ?', 'position > ?'];
  const values: (string | number)[] = [tenantId, afterPosition];
  if (filter.entity_prefix) {
    where.push('entity_id >= ?');
    values.push(filter.entity_prefix);
    const bound = prefixUpperBound(filter.entity_prefix);
    if (bound !== undefined) {
      where.push('entity_id < ?');
      values.push(bound);
    }
  }
  const types = filter.event_types ?? [];
  if (types.length > 0) {
    where.push(`event_type IN (${types.map(() => '?').join(', ')})`);
    values.push(...types);
  }
  values.push(limit);
  const sql = `SELECT ${EVENT_COLUMNS} FROM events INDEXED BY events_tenant_position
    WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`;
  return db.withRaw((raw) =>
    parseRows(prepared(raw, sql).all(...values) as unknown as EventRecord[]),
  );
}
