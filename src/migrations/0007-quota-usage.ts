import type { Migration } from '../storage/migrate.ts';

/**
 * Quotas (issue 5), after `tenant_quotas` and `quota_usage` (0006).
 *
 * - Every append adds to its tenant's `max_events_per_day` counter (window: the UTC
 *   day of the commit) and `max_storage_bytes` counter (window 0) in its transaction.
 *   Events stored before this migration are counted here once: all their bytes, and
 *   today's events (found through `event_commits`' time index, not a scan of events);
 *   a counter already there is replaced by the count.
 * - PostgreSQL: a change to a tenant's quotas or plan is announced on the
 *   `tessera_quotas` channel (payload: the tenant id), delivered at commit, so every
 *   node drops the quotas it cached (the `quotas` topic of db.changes, followed by
 *   src/tenancy/quotas/quota-service.ts). Triggers, so any writer is covered: another
 *   node, the CLI, an operator's SQL.
 */
export const quotaUsage: Migration = {
  version: 7,
  name: 'quota-usage',
  sqlite: `INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  SELECT tenant_id, 'max_storage_bytes', 0, sum(bytes) FROM entities WHERE true GROUP BY tenant_id
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = excluded.used;

INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  SELECT tenant_id, 'max_events_per_day', (unixepoch() / 86400) * 86400000, count(*)
    FROM events
   WHERE position >= (SELECT min(first_position) FROM event_commits
                       WHERE time_ms >= (unixepoch() / 86400) * 86400000)
   GROUP BY tenant_id
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = excluded.used;
`,
  postgres: `INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  SELECT tenant_id, 'max_storage_bytes', 0, sum(bytes) FROM entities GROUP BY tenant_id
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = excluded.used;

INSERT INTO quota_usage (tenant_id, quota, window_start_ms, used)
  SELECT tenant_id, 'max_events_per_day', d.start_ms, count(*)
    FROM events,
         (SELECT (floor(extract(epoch FROM now()) / 86400) * 86400000)::bigint AS start_ms) AS d
   WHERE position >= (SELECT min(first_position) FROM event_commits WHERE time_ms >= d.start_ms)
   GROUP BY tenant_id, d.start_ms
  ON CONFLICT (tenant_id, quota, window_start_ms) DO UPDATE SET used = excluded.used;

CREATE FUNCTION tessera_quotas_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed record;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  -- TG_ARGV[0]: the column holding the tenant id.
  PERFORM pg_notify('tessera_quotas', to_json(changed) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;

CREATE TRIGGER tenant_quotas_changed AFTER INSERT OR UPDATE OR DELETE ON tenant_quotas
  FOR EACH ROW EXECUTE FUNCTION tessera_quotas_changed('tenant_id');
CREATE TRIGGER tenants_plan_changed AFTER UPDATE OF plan ON tenants
  FOR EACH ROW EXECUTE FUNCTION tessera_quotas_changed('id');
`,
};
