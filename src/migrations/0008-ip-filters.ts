import type { Migration } from '../storage/migrate.ts';

/**
 * IP allow and block lists (issue 6). `tenant_id` NULL: a global entry, applied to
 * every request; otherwise it applies to requests authenticated to that tenant.
 * `cidr` is the canonical text (src/platform/cidr.ts), so one range has one spelling
 * and appears at most once per scope, whatever its action. `created_by` is the actor
 * (user id, API key id or `cli`), `created_by_type` the kind of actor, as in audit events.
 *
 * PostgreSQL: every change is announced on `tessera_ip_filters` at commit, so every
 * node reloads its in-memory lists (the `ip_filters` topic of db.changes, followed by
 * src/protection/ip-filters/ip-filter-cache.ts). A trigger, so any writer is covered:
 * another node, the CLI, an operator's SQL.
 */
export const ipFilters: Migration = {
  version: 8,
  name: 'ip-filters',
  sqlite: `CREATE TABLE ip_filters (
  id TEXT PRIMARY KEY,
  tenant_id TEXT REFERENCES tenants (id),
  cidr TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('allow', 'block')),
  reason TEXT NOT NULL,
  created_by TEXT,
  created_by_type TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ip_filters_range ON ip_filters (coalesce(tenant_id, ''), cidr);
CREATE INDEX ip_filters_tenant ON ip_filters (tenant_id, id);
`,
  postgres: `CREATE TABLE ip_filters (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" REFERENCES tenants (id),
  cidr text NOT NULL,
  action text NOT NULL CHECK (action IN ('allow', 'block')),
  reason text NOT NULL,
  created_by text,
  created_by_type text NOT NULL,
  created_ms bigint NOT NULL
);
CREATE UNIQUE INDEX ip_filters_range ON ip_filters (coalesce(tenant_id, ''), cidr);
CREATE INDEX ip_filters_tenant ON ip_filters (tenant_id, id);

CREATE FUNCTION tessera_ip_filters_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tessera_ip_filters', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER ip_filters_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ip_filters
  FOR EACH STATEMENT EXECUTE FUNCTION tessera_ip_filters_changed();
`,
};
