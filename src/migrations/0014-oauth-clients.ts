import type { Migration } from '../storage/migrate.ts';

/**
 * OAuth clients of the OpenID Provider (issue 19), identity's table, one tenant each.
 *
 * - `id` is the `client_id` (`tc_` and 24 random characters), chosen by Tessera.
 * - `type`: `confidential` clients hold a secret, `public` ones (SPAs, native apps)
 *   none, so `secret_digest` is null for them. Only the SHA-256 digest of a secret is
 *   kept (`tcs_` secrets have 256 random bits, so a fast hash is right);
 *   `secret_rotated_ms` is when the current one was issued.
 * - `redirect_uris`, `post_logout_redirect_uris`, `grant_types`, `scopes`: JSON arrays
 *   of strings; redirect URIs are kept exactly as registered (compared as strings).
 * - `role`: what a `client_credentials` client acts with in its tenant (null for the
 *   others); like an API key's, capped by its creator's roles (`created_by`).
 * - `first_party` skips the consent page; `tenant_choice` lets a user sign in to any
 *   tenant of theirs and pick it (0: the client's own tenant only). Both 0 or 1.
 *
 * On PostgreSQL every change and deletion is announced on the credentials channel
 * (`oauth_client:<id>`), so a client cached by any node is dropped at once.
 */
export const oauthClients: Migration = {
  version: 14,
  name: 'oauth-clients',
  sqlite: `CREATE TABLE oauth_clients (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
  grant_types TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  role TEXT,
  first_party INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1)),
  tenant_choice INTEGER NOT NULL DEFAULT 0 CHECK (tenant_choice IN (0, 1)),
  access_token_ttl_seconds INTEGER NOT NULL,
  refresh_token_ttl_seconds INTEGER NOT NULL,
  secret_digest TEXT UNIQUE,
  secret_rotated_ms INTEGER,
  created_by TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  CHECK ((type = 'public') = (secret_digest IS NULL))
) STRICT;
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id);
`,
  postgres: `CREATE TABLE oauth_clients (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('confidential', 'public')),
  redirect_uris text NOT NULL DEFAULT '[]',
  post_logout_redirect_uris text NOT NULL DEFAULT '[]',
  grant_types text NOT NULL,
  scopes text NOT NULL DEFAULT '[]',
  role text,
  first_party integer NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1)),
  tenant_choice integer NOT NULL DEFAULT 0 CHECK (tenant_choice IN (0, 1)),
  access_token_ttl_seconds integer NOT NULL,
  refresh_token_ttl_seconds integer NOT NULL,
  secret_digest text UNIQUE,
  secret_rotated_ms bigint,
  created_by text,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  CHECK ((type = 'public') = (secret_digest IS NULL))
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id);
CREATE TRIGGER oauth_clients_credentials AFTER UPDATE OR DELETE ON oauth_clients
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('oauth_client', 'id');
`,
};
