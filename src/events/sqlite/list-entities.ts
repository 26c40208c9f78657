import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { EntitySummary, ListEntitiesOptions } from '../model.ts';
import { prefixUpperBound } from '../prefix-range.ts';
import { prepared } from './statements.ts';

/** Entities in id order from the summary table; a prefix is an index range. */
export function listEntities(
  db: SqliteDatabase,
  tenantId: string,
  options: ListEntitiesOptions,
): Promise<EntitySummary[]> {
  const where = ['tenant_id = ?'];
  const values: (string | number)[] = [tenantId];
  if (options.prefix) {
    where.push('entity_id >= ?');
    values.push(options.prefix);
    const bound = prefixUpperBound(options.prefix);
    if (bound !== undefined) {
      where.push('entity_id < ?');
      values.push(bound);
    }
  }
  if (options.after !== undefined) {
    where.push('entity_id > ?');
    values.push(options.after);
  }
  values.push(options.limit);
  const sql = `SELECT entity_id, version, last_time_ms FROM entities
    WHERE ${where.join(' AND ')} ORDER BY entity_id LIMIT ?`;
  return db.withRaw((raw) =>
    (
      prepared(raw, sql).all(...values) as {
        entity_id: string;
        version: number;
        last_time_ms: number;
      }[]
    ).map((row) => ({
      entity_id: row.entity_id,
      version: row.version,
      last_timestamp: new Date(row.last_time_ms).toISOString(),
    })),
  );
}
