import type { Migration } from '../storage/migrate.ts';

/**
 * Identity and tenancy. Times are epoch milliseconds (`*_ms`), as in the event
 * tables; secrets are never stored, only their SHA-256 digests (`*_hash`) or, for
 * signing keys, encrypted with the master key.
 *
 * - `tenants`: slug id; `status` active or suspended; soft delete (`deleted_ms`). The
 *   `system` tenant, created here, holds the platform administrators.
 * - `users`: global identity, email unique (stored lower-cased); `password_hash` is
 *   null for users who never set one.
 * - `memberships`: a user's roles (JSON array of role names) in one tenant.
 * - `sessions`: one login; every access and refresh token carries or points to it, so
 *   revoking it (logout, reuse of a refresh token, password change) ends them all.
 * - `refresh_tokens`: single use; `used_ms` set by the one UPDATE that consumes it.
 * - `signing_keys`: Ed25519 keys for access tokens; the newest unretired one signs,
 *   every key verifies until `retired_ms` + the longest access token lifetime.
 * - `api_keys`: bound to one tenant and one role; `prefix` is the non-secret start
 *   shown in listings.
 */
export const identity: Migration = {
  version: 4,
  name: 'identity',
  sqlite: `CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  plan TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  deleted_ms INTEGER
) STRICT;

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  password_hash TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  email_verified INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  user_id TEXT NOT NULL REFERENCES users (id),
  roles TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id),
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER,
  revoked_reason TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id),
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  used_ms INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  private_key_encrypted TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  retired_ms INTEGER
) STRICT;

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  prefix TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_by TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  last_used_ms INTEGER,
  revoked_ms INTEGER
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_ms);

INSERT INTO tenants (id, name, plan, status, created_ms, updated_ms)
  VALUES ('system', 'System', 'unlimited', 'active', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    CAST(unixepoch('subsec') * 1000 AS INTEGER));
`,
  postgres: `CREATE TABLE tenants (
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  plan text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'suspended')),
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  deleted_ms bigint
);

CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  password_hash text,
  status text NOT NULL CHECK (status IN ('active', 'disabled')),
  email_verified integer NOT NULL DEFAULT 0,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL
);

CREATE TABLE memberships (
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  user_id text NOT NULL REFERENCES users (id),
  roles text NOT NULL,
  created_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE sessions (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  revoked_ms bigint,
  revoked_reason text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions (id),
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  used_ms bigint
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL,
  public_jwk text NOT NULL,
  private_key_encrypted text NOT NULL,
  created_ms bigint NOT NULL,
  retired_ms bigint
);

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  role text NOT NULL,
  prefix text NOT NULL,
  secret_hash text NOT NULL UNIQUE,
  created_by text,
  created_ms bigint NOT NULL,
  expires_ms bigint,
  last_used_ms bigint,
  revoked_ms bigint
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_ms);

INSERT INTO tenants (id, name, plan, status, created_ms, updated_ms)
  VALUES ('system', 'System', 'unlimited', 'active', (extract(epoch FROM now()) * 1000)::bigint,
    (extract(epoch FROM now()) * 1000)::bigint);
`,
};
