import type pg from 'pg';
import type { StoredEvent } from '../model.ts';
import type { EventRecord } from '../row-to-event.ts';
import type { LogFilter } from '../store.ts';
import { parseRows } from './parse-rows.ts';
import { selectEvents } from './select-events.ts';

/**
 * Walks the tenant's log (events_tenant_position, or events_type_position per type)
 * from the cursor. Every appender holds the head row lock until it commits, so
 * positions become visible in order and a cursor read here never skips a
 * later-committing lower position. starts_with() compares characters, so `%`, `_`
 * and `\` in a prefix mean themselves.
 */
export function buildReadLog(
  tenantId: string,
  afterPosition: number,
  limit: number,
  filter: LogFilter = {},
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const bind = (value: unknown) => `$${values.push(value)}`;
  const filters = filter.entity_prefix
    ? [`starts_with(entity_id, ${bind(filter.entity_prefix)})`]
    : [];
  const text = selectEvents({
    bind,
    tenantId,
    types: filter.event_types ?? [],
    from: `${bind(afterPosition)}::bigint + 1`,
    filters,
    direction: 'ASC',
    limit,
  });
  return { text, values };
}

export async function readLog(
  pool: pg.Pool,
  tenantId: string,
  afterPosition: number,
  limit: number,
  filter?: LogFilter,
): Promise<StoredEvent[]> {
  const { rows } = await pool.query<EventRecord>(
    buildReadLog(tenantId, afterPosition, limit, filter),
  );
  return parseRows(rows);
}
