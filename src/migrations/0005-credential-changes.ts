import type { Migration } from '../storage/migrate.ts';

/**
 * PostgreSQL only: every change to what authenticates a request is announced on the
 * `tessera_credentials` channel, delivered at commit, so each node can drop what it
 * cached (src/identity/guard/credential-cache.ts). Triggers, not application code, announce
 * them: any writer (another node, the CLI, an operator's SQL) is covered, and a
 * rolled back change announces nothing. The payload is `<kind>:<id>`:
 *
 * - `tenant:<id>`: status or deletion changed; drops every credential of the tenant.
 * - `user:<id>`: a membership (roles) or the user's status changed; drops the user's
 *   sessions.
 * - `session:<id>` and `api_key:<id>`: revoked, expiry or binding changed. API keys'
 *   `last_used_ms`, written as keys are used, announces nothing.
 *
 * SQLite gets nothing: one process serves a SQLite file, and it does not cache.
 */
export const credentialChanges: Migration = {
  version: 5,
  name: 'credential-changes',
  sqlite: `-- Nothing on SQLite: credentials are not cached there.
`,
  postgres: `CREATE FUNCTION tessera_credentials_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed record;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  -- TG_ARGV: the kind, and the column holding the id it is about.
  PERFORM pg_notify('tessera_credentials', TG_ARGV[0] || ':' || (to_json(changed) ->> TG_ARGV[1]));
  RETURN NULL;
END
$$;

CREATE TRIGGER tenants_credentials AFTER UPDATE OF status, deleted_ms OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('tenant', 'id');
CREATE TRIGGER users_credentials AFTER UPDATE OF status OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('user', 'id');
CREATE TRIGGER memberships_credentials
  AFTER INSERT OR UPDATE OF roles, user_id, tenant_id OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('user', 'user_id');
CREATE TRIGGER sessions_credentials
  AFTER UPDATE OF revoked_ms, expires_ms, user_id, tenant_id OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('session', 'id');
CREATE TRIGGER api_keys_credentials
  AFTER UPDATE OF revoked_ms, expires_ms, role, tenant_id, secret_hash, created_by OR DELETE
  ON api_keys
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('api_key', 'id');
`,
};
