import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { EventStats } from '../model.ts';
import { prepared } from './statements.ts';

// From the summary tables the append keeps, so stats never scan the events.
const STATS = `SELECT
  (SELECT coalesce(sum(events), 0) FROM event_types WHERE tenant_id = ?1) AS events,
  (SELECT count(*) FROM entities WHERE tenant_id = ?1) AS entities,
  (SELECT count(*) FROM event_types WHERE tenant_id = ?1) AS event_types,
  (SELECT coalesce(sum(bytes), 0) FROM entities WHERE tenant_id = ?1) AS bytes`;

export function stats(db: SqliteDatabase, tenantId: string): Promise<EventStats> {
  return db.withRaw((raw) => ({
    ...(prepared(raw, STATS).get(tenantId) as unknown as EventStats),
  }));
}
