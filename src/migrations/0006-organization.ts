import type { Migration } from '../storage/migrate.ts';

/**
 * Organization administration (issue 5): what tenant administrators manage.
 *
 * - `memberships.status`: a user deactivated in one tenant keeps their identity and
 *   their other tenants; their sessions in this one end.
 * - `sessions`: when each was last used and from where, for the session lists.
 * - `teams`, `team_members`: named groups of a tenant's members; names unique per
 *   tenant regardless of case.
 * - `tenant_roles`: custom roles of a tenant, a JSON array of permission names.
 * - `tenant_quotas`: a tenant's limits when set explicitly (otherwise its plan's);
 *   0 means unlimited. `quota_usage`: counters per quota and window (a day, an hour,
 *   or 0 for counters without a window), updated in the transaction that uses them.
 *
 * PostgreSQL: a membership's status and a tenant's custom roles decide what its
 * credentials may do, so changes to them are announced like other credential changes.
 */
export const organization: Migration = {
  version: 6,
  name: 'organization',
  sqlite: `ALTER TABLE memberships ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
  CHECK (status IN ('active', 'deactivated'));

ALTER TABLE sessions ADD COLUMN last_used_ms INTEGER;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

CREATE TABLE teams (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX teams_name ON teams (tenant_id, lower(name));

CREATE TABLE team_members (
  tenant_id TEXT NOT NULL,
  team_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id),
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, team_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

CREATE TABLE tenant_roles (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  description TEXT,
  permissions TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
) STRICT;

CREATE TABLE tenant_quotas (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
  max_events_per_day INTEGER NOT NULL,
  max_storage_bytes INTEGER NOT NULL,
  max_queries_per_hour INTEGER NOT NULL,
  max_api_keys INTEGER NOT NULL,
  max_projections INTEGER NOT NULL,
  max_pipelines INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE quota_usage (
  tenant_id TEXT NOT NULL,
  quota TEXT NOT NULL,
  window_start_ms INTEGER NOT NULL,
  used INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, quota, window_start_ms)
) STRICT;
`,
  postgres: `ALTER TABLE memberships ADD COLUMN status text NOT NULL DEFAULT 'active'
  CHECK (status IN ('active', 'deactivated'));

ALTER TABLE sessions ADD COLUMN last_used_ms bigint;
ALTER TABLE sessions ADD COLUMN ip text;
ALTER TABLE sessions ADD COLUMN user_agent text;

CREATE TABLE teams (
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  id text NOT NULL,
  name text NOT NULL,
  description text,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX teams_name ON teams (tenant_id, lower(name));

CREATE TABLE team_members (
  tenant_id text COLLATE "C" NOT NULL,
  team_id text NOT NULL,
  user_id text NOT NULL REFERENCES users (id),
  created_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, team_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

CREATE TABLE tenant_roles (
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  description text,
  permissions text NOT NULL,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE tenant_quotas (
  tenant_id text COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
  max_events_per_day bigint NOT NULL,
  max_storage_bytes bigint NOT NULL,
  max_queries_per_hour bigint NOT NULL,
  max_api_keys bigint NOT NULL,
  max_projections bigint NOT NULL,
  max_pipelines bigint NOT NULL,
  updated_ms bigint NOT NULL
);

CREATE TABLE quota_usage (
  tenant_id text COLLATE "C" NOT NULL,
  quota text NOT NULL,
  window_start_ms bigint NOT NULL,
  used bigint NOT NULL,
  PRIMARY KEY (tenant_id, quota, window_start_ms)
);

DROP TRIGGER memberships_credentials ON memberships;
CREATE TRIGGER memberships_credentials
  AFTER INSERT OR UPDATE OF roles, status, user_id, tenant_id OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('user', 'user_id');
CREATE TRIGGER tenant_roles_credentials AFTER INSERT OR UPDATE OR DELETE ON tenant_roles
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('tenant', 'tenant_id');
`,
};
