import type pg from 'pg';
import type { EventQuery, StoredEvent } from '../model.ts';
import type { EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';
import { BEYOND_LAST_POSITION, selectEvents } from './select-events.ts';

// The first position committed at or after a time. Commit times never decrease with
// position and event_commits holds the first position of each distinct time, so
// "time >= t" is "position >= this"; with no such commit, nothing is that late.
const firstPositionAtOrAfter = (param: string) =>
  `coalesce((SELECT first_position FROM event_commits WHERE time_ms >= ${param}::bigint
   ORDER BY time_ms, first_position LIMIT 1), ${BEYOND_LAST_POSITION})`;

/**
 * The SQL `query` runs, built apart so a test can EXPLAIN exactly it. An entity is
 * served by events_entity_version, types by events_type_position, neither by
 * events_tenant_position. Time bounds and the cursor become one position range,
 * resolved through event_commits within the same statement.
 */
export function buildEventQuery(
  tenantId: string,
  query: EventQuery,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const bind = (value: unknown) => `$${values.push(value)}`;
  const lower: string[] = [];
  const upper: string[] = [];
  if (query.since_ms !== undefined) lower.push(firstPositionAtOrAfter(bind(query.since_ms)));
  if (query.until_ms !== undefined) upper.push(firstPositionAtOrAfter(bind(query.until_ms)));
  if (query.after_position !== undefined) {
    const cursor = `${bind(query.after_position)}::bigint`;
    if (query.order === 'asc') lower.push(`${cursor} + 1`);
    else upper.push(cursor);
  }
  const text = selectEvents({
    bind,
    tenantId,
    entityId: query.entity_id,
    types: query.event_types ?? [],
    from: bound('greatest', lower),
    to: bound('least', upper),
    filters: [],
    direction: query.order === 'asc' ? 'ASC' : 'DESC',
    limit: query.limit,
  });
  return { text, values };
}

const bound = (combine: string, bounds: readonly string[]) =>
  bounds.length > 1 ? `${combine}(${bounds.join(', ')})` : bounds[0];

export async function queryEvents(
  pool: pg.Pool,
  tenantId: string,
  query: EventQuery,
): Promise<StoredEvent[]> {
  const { rows } = await pool.query<EventRecord>(buildEventQuery(tenantId, query));
  return parseRows(rows);
}
