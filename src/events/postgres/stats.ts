import type pg from 'pg';
import type { EventStats } from '../model.ts';

// From the summary tables kept in the append transaction: no scan of `events`.
// sum() of int8 is numeric (a string in pg); cast back to int8 to get a number.
const STATS = `SELECT t.events, e.entities, t.event_types, e.bytes
  FROM (SELECT count(*) AS entities, coalesce(sum(bytes), 0)::bigint AS bytes
          FROM entities WHERE tenant_id = $1) AS e,
       (SELECT count(*) AS event_types, coalesce(sum(events), 0)::bigint AS events
          FROM event_types WHERE tenant_id = $1) AS t`;

export async function stats(pool: pg.Pool, tenantId: string): Promise<EventStats> {
  const { rows } = await pool.query<EventStats>({
    name: 'tessera_events_stats',
    text: STATS,
    values: [tenantId],
  });
  return rows[0] ?? { events: 0, entities: 0, event_types: 0, bytes: 0 };
}
