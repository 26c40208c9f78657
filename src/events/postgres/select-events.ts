import { EVENT_COLUMNS } from '../row-to-event.ts';

/** Above every position (positions are at most 2^53 - 1). */
export const BEYOND_LAST_POSITION = '9007199254740992';

export interface EventSelect {
  /** Binds a value and returns its placeholder. */
  readonly bind: (value: unknown) => string;
  readonly tenantId: string;
  readonly entityId?: string | undefined;
  /** Any of these types; empty for no type filter. */
  readonly types: readonly string[];
  /** SQL for the lowest position wanted (inclusive), if bounded. */
  readonly from?: string | undefined;
  /** SQL for the position above the highest wanted (exclusive), if bounded. */
  readonly to?: string | undefined;
  /** Further conditions, checked on the rows the index range yields. */
  readonly filters: readonly string[];
  readonly direction: 'ASC' | 'DESC';
  readonly limit: number;
}

/**
 * One entity: events_entity_version in version order (its position order).
 * Otherwise the position range is a keyset range on the index key, `(tenant_id,
 * position)` or `(tenant_id, event_type, position)`, and no plain condition on
 * `position` is given: the primary key then offers no range, so the planner cannot
 * walk it and filter by tenant, which reads the whole log tail when the tenant has
 * nothing there (a caught-up subscription of a quiet tenant, woken on every
 * commit). The equalities stay for the planner's row estimates. Several types
 * across entities become one range per type, merged and cut at the limit.
 */
export function selectEvents(select: EventSelect): string {
  const { bind, direction } = select;
  const tenant = bind(select.tenantId);
  const limit = bind(select.limit);
  const types = [...new Set(select.types)];
  const one = (where: readonly string[], orderBy: string) =>
    `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}
 ORDER BY ${orderBy} ${direction} LIMIT ${limit}`;

  if (select.entityId !== undefined) {
    // Only the bounds asked for: with a made-up one the planner reads the pair as a
    // narrow range and prefers a position index over the entity's own.
    const where = [`tenant_id = ${tenant}`, `entity_id = ${bind(select.entityId)}`];
    if (select.from !== undefined) where.push(`position >= ${select.from}`);
    if (select.to !== undefined) where.push(`position < ${select.to}`);
    where.push(...select.filters);
    if (types.length > 0) where.push(`event_type = ANY(${bind(types)}::text[])`);
    return one(where, 'version');
  }
  const range = (key: readonly (readonly [string, string])[]) => {
    const columns = [...key.map(([column]) => column), 'position'].join(', ');
    const values = key.map(([, value]) => value).join(', ');
    const where = [
      ...key.map(([column, value]) => `${column} = ${value}`),
      `(${columns}) >= (${values}, ${select.from ?? '1'})`,
      `(${columns}) < (${values}, ${select.to ?? BEYOND_LAST_POSITION})`,
      ...select.filters,
    ];
    return one(where, 'position');
  };
  if (types.length === 0) return range([['tenant_id', tenant]]);
  const branches = types.map((type) =>
    range([
      ['tenant_id', tenant],
      ['event_type', bind(type)],
    ]),
  );
  if (branches.length === 1) return branches[0] as string;
  return `SELECT * FROM (${branches.map((branch) => `(${branch})`).join('\n UNION ALL ')}) AS by_type
 ORDER BY position ${direction} LIMIT ${limit}`;
}
