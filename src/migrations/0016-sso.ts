import type { Migration } from '../storage/migrate.ts';

/**
 * Enterprise single sign-on (issue 20).
 *
 * The sso domain's tables:
 * - `sso_connections`: a tenant's identity provider, OpenID Connect or SAML 2.0.
 *   `settings` is the protocol's JSON (issuer, client id, scopes; or IdP entity id, SSO
 *   URL, certificates), `mapping` how claims become a member (claim names, group → role
 *   and team, default role, just-in-time creation). The OIDC client secret is sealed
 *   with a key derived from the master key (`secret_box`, AES-256-GCM, the connection
 *   id as associated data): a database copy alone does not reveal it. `trusted` lets a
 *   SAML connection link an existing account by the email it asserts; `idp_initiated`
 *   accepts unsolicited SAML responses (off by default: they carry no request to bind).
 * - `sso_domains`: email domains a connection claims, unique across tenants, so an
 *   address leads to one place (`POST /auth/sso/discover`).
 * - `sso_identities`: which account an IdP's subject is, per connection, and when it
 *   last signed in that way (deprovisioning reads `last_login_ms`).
 * - `sso_requests`: a sign-in on its way through the IdP: the `state` / `RelayState`
 *   (`id`), what the protocol must check on return (nonce and PKCE verifier, or the
 *   AuthnRequest ID for `InResponseTo`), the digest of the browser cookie that started
 *   it, where it returns (a hosted page's interaction, or an application's redirect
 *   URI), and, once the IdP answered, the outcome waiting for that browser. Single use.
 * - `sso_assertions`: SAML assertion ids seen, until they expire: a replayed assertion
 *   is refused on every node.
 *
 * Tenancy's columns on `tenants`: `sso_enforced` (members sign in through SSO only,
 * password, magic link and passkey are refused), `sso_break_glass` (JSON array of user
 * ids exempt from that), `sso_deprovision_days` (members who have not signed in
 * through SSO for that many days are deactivated; null: never).
 */
export const sso: Migration = {
  version: 16,
  name: 'sso',
  sqlite: `CREATE TABLE sso_connections (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  type TEXT NOT NULL CHECK (type IN ('oidc', 'saml')),
  name TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  settings TEXT NOT NULL,
  mapping TEXT NOT NULL,
  secret_box TEXT,
  trusted INTEGER NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1)),
  idp_initiated INTEGER NOT NULL DEFAULT 0 CHECK (idp_initiated IN (0, 1)),
  created_by TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_connections_tenant ON sso_connections (tenant_id);
CREATE TABLE sso_domains (
  domain TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL
) STRICT;
CREATE INDEX sso_domains_connection ON sso_domains (connection_id);
CREATE TABLE sso_identities (
  connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id),
  tenant_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  last_login_ms INTEGER NOT NULL,
  PRIMARY KEY (connection_id, subject)
) STRICT;
CREATE INDEX sso_identities_member ON sso_identities (tenant_id, user_id);
CREATE TABLE sso_requests (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'test')),
  browser_digest TEXT NOT NULL,
  protocol_state TEXT NOT NULL,
  interaction_uid TEXT,
  redirect_uri TEXT,
  outcome TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_requests_expiry ON sso_requests (expires_ms);
CREATE TABLE sso_assertions (
  connection_id TEXT NOT NULL,
  assertion_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  PRIMARY KEY (connection_id, assertion_id)
) STRICT;
CREATE INDEX sso_assertions_expiry ON sso_assertions (expires_ms);
ALTER TABLE tenants ADD COLUMN sso_enforced INTEGER NOT NULL DEFAULT 0 CHECK (sso_enforced IN (0, 1));
ALTER TABLE tenants ADD COLUMN sso_break_glass TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN sso_deprovision_days INTEGER;
`,
  postgres: `CREATE TABLE sso_connections (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  type text NOT NULL CHECK (type IN ('oidc', 'saml')),
  name text NOT NULL,
  enabled integer NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  settings text NOT NULL,
  mapping text NOT NULL,
  secret_box text,
  trusted integer NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1)),
  idp_initiated integer NOT NULL DEFAULT 0 CHECK (idp_initiated IN (0, 1)),
  created_by text,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL
);
CREATE INDEX sso_connections_tenant ON sso_connections (tenant_id);
CREATE TABLE sso_domains (
  domain text PRIMARY KEY,
  connection_id text NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  tenant_id text COLLATE "C" NOT NULL
);
CREATE INDEX sso_domains_connection ON sso_domains (connection_id);
CREATE TABLE sso_identities (
  connection_id text NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  subject text NOT NULL,
  user_id text NOT NULL REFERENCES users (id),
  tenant_id text COLLATE "C" NOT NULL,
  created_ms bigint NOT NULL,
  last_login_ms bigint NOT NULL,
  PRIMARY KEY (connection_id, subject)
);
CREATE INDEX sso_identities_member ON sso_identities (tenant_id, user_id);
CREATE TABLE sso_requests (
  id text PRIMARY KEY,
  connection_id text NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('sign_in', 'test')),
  browser_digest text NOT NULL,
  protocol_state text NOT NULL,
  interaction_uid text,
  redirect_uri text,
  outcome text,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX sso_requests_expiry ON sso_requests (expires_ms);
CREATE TABLE sso_assertions (
  connection_id text NOT NULL,
  assertion_id text NOT NULL,
  expires_ms bigint NOT NULL,
  PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertions_expiry ON sso_assertions (expires_ms);
ALTER TABLE tenants ADD COLUMN sso_enforced integer NOT NULL DEFAULT 0 CHECK (sso_enforced IN (0, 1));
ALTER TABLE tenants ADD COLUMN sso_break_glass text NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN sso_deprovision_days integer;
`,
};
