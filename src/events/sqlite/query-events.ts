import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { EventQuery, StoredEvent } from '../model.ts';
import { EVENT_COLUMNS, type EventRecord } from '../row-to-event.ts';
import { parseRows } from './parse-rows.ts';
import { prepared } from './statements.ts';

export interface SqlQuery {
  readonly sql: string;
  readonly values: (string | number)[];
}

// A time bound becomes a position bound: the first position committed at or after
// that time (commit times never decrease with position). None: past the head.
const FIRST_POSITION_AT = `coalesce((SELECT first_position FROM event_commits
  WHERE time_ms >= ? ORDER BY time_ms, first_position LIMIT 1), 9007199254740991)`;

/**
 * The SQL `query` runs, exported so a test can check its plan. Each filter shape
 * has an index: entity → (tenant, entity, version), ordered by version, which is
 * position order within an entity; types → (tenant, type, position); otherwise
 * (tenant, position).
 */
export function buildEventQuery(tenantId: string, query: EventQuery): SqlQuery {
  const where = ['tenant_id = ?'];
  const values: (string | number)[] = [tenantId];
  if (query.entity_id !== undefined) {
    where.push('entity_id = ?');
    values.push(query.entity_id);
  }
  const types = query.event_types ?? [];
  if (types.length > 0) {
    where.push(`event_type IN (${types.map(() => '?').join(', ')})`);
    values.push(...types);
  }
  if (query.since_ms !== undefined) {
    where.push(`position >= ${FIRST_POSITION_AT}`);
    values.push(query.since_ms);
  }
  if (query.until_ms !== undefined) {
    where.push(`position < ${FIRST_POSITION_AT}`);
    values.push(query.until_ms);
  }
  if (query.after_position !== undefined) {
    where.push(query.order === 'asc' ? 'position > ?' : 'position < ?');
    values.push(query.after_position);
  }
  const key = query.entity_id !== undefined ? 'version' : 'position';
  values.push(query.limit);
  // Without statistics SQLite may prefer the position range of a time filter over
  // the far more selective entity or type; name the index each shape is built for.
  const index =
    query.entity_id !== undefined
      ? 'events_entity_version'
      : types.length > 0
        ? 'events_type_position'
        : 'events_tenant_position';
  return {
    sql: `SELECT ${EVENT_COLUMNS} FROM events INDEXED BY ${index} WHERE ${where.join(' AND ')}
      ORDER BY ${key} ${query.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
    values,
  };
}

export function queryEvents(
  db: SqliteDatabase,
  tenantId: string,
  query: EventQuery,
): Promise<StoredEvent[]> {
  const { sql, values } = buildEventQuery(tenantId, query);
  return db.withRaw((raw) =>
    parseRows(prepared(raw, sql).all(...values) as unknown as EventRecord[]),
  );
}
