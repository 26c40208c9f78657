import type pg from 'pg';
import type { EntitySummary, ListEntitiesOptions } from '../model.ts';
import { prefixUpperBound } from '../prefix-range.ts';

interface EntityRecord {
  readonly entity_id: string;
  readonly version: number;
  readonly last_time_ms: number;
}

/**
 * The prefix and the cursor are ranges on the primary key (tenant_id, entity_id):
 * entity ids compare by code point (COLLATE "C", migration 3), so `>= prefix AND <
 * its upper bound` is exactly "starts with", with no LIKE pattern to escape.
 */
export function buildListEntities(
  tenantId: string,
  options: ListEntitiesOptions,
): { text: string; values: unknown[] } {
  const values: unknown[] = [tenantId];
  const where = ['tenant_id = $1'];
  const bind = (value: unknown) => `$${values.push(value)}`;
  if (options.after !== undefined) where.push(`entity_id > ${bind(options.after)}`);
  if (options.prefix) {
    where.push(`entity_id >= ${bind(options.prefix)}`);
    const upper = prefixUpperBound(options.prefix);
    if (upper !== undefined) where.push(`entity_id < ${bind(upper)}`);
  }
  const text = `SELECT entity_id, version, last_time_ms FROM entities
 WHERE ${where.join(' AND ')}
 ORDER BY entity_id LIMIT ${bind(options.limit)}`;
  return { text, values };
}

export async function listEntities(
  pool: pg.Pool,
  tenantId: string,
  options: ListEntitiesOptions,
): Promise<EntitySummary[]> {
  const { rows } = await pool.query<EntityRecord>(buildListEntities(tenantId, options));
  return rows.map((row) => ({
    entity_id: row.entity_id,
    version: row.version,
    last_timestamp: new Date(row.last_time_ms).toISOString(),
  }));
}
