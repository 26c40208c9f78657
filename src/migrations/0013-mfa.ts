import type { Migration } from '../storage/migrate.ts';

/**
 * Multi-factor sign-in (issue 18): TOTP, recovery codes, passkeys, the login's
 * second-factor step, what a session proved and when, and a tenant's MFA policy.
 * Every table but `tenants` is identity's.
 *
 * - `sessions.amr`: a JSON array of RFC 8176 method values the session's sign-in
 *   proved (`["pwd"]`, `["pwd","otp","mfa"]`, `["hwk","user","mfa"]`); `auth_time_ms`
 *   when that sign-in happened (null on sessions older than this migration: their
 *   `created_ms`); `reauth_ms` the last proof of a password or a factor (enrolling a
 *   factor needs a recent one); `second_factor_ms` the last second-factor proof (step-up).
 * - `tenants.mfa_required` (tenancy): `off`, `admins` or `all`.
 * - `totp_factors`: one per user; `secret` sealed with the master key (secret-box);
 *   `confirmed_ms` null while enrollment awaits its first code; `last_step`, the
 *   RFC 6238 time step of the last code accepted: a code is accepted only for a later
 *   step, in one conditional UPDATE, so a code works once across every node.
 * - `recovery_codes`: SHA-256 digests; using one is one conditional UPDATE of `used_ms`.
 * - `passkeys`: WebAuthn credentials; `id` the credential ID (base64url), `public_key`
 *   COSE (base64url); `tenant_id` the tenant of the session that registered it, where a
 *   passwordless sign-in with it lands.
 * - `webauthn_challenges`: single-use (consumed by DELETE ... RETURNING), short-lived;
 *   bound to the user, session or mfa_token of the ceremony.
 * - `mfa_tokens`: a login that proved its first factor and awaits the second; only the
 *   digest is kept; consumed by DELETE ... RETURNING. `amr` the first factor's methods.
 *
 * On PostgreSQL the credential triggers also fire on the new columns, so every node's
 * credential cache hears that a session stepped up or a tenant's policy changed.
 */
export const mfa: Migration = {
  version: 13,
  name: 'mfa',
  sqlite: `ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';
ALTER TABLE sessions ADD COLUMN auth_time_ms INTEGER;
ALTER TABLE sessions ADD COLUMN reauth_ms INTEGER;
ALTER TABLE sessions ADD COLUMN second_factor_ms INTEGER;
ALTER TABLE tenants ADD COLUMN mfa_required TEXT NOT NULL DEFAULT 'off'
  CHECK (mfa_required IN ('off', 'admins', 'all'));
CREATE TABLE totp_factors (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret TEXT NOT NULL,
  confirmed_ms INTEGER,
  last_step INTEGER,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE recovery_codes (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  used_ms INTEGER,
  PRIMARY KEY (user_id, digest)
) STRICT;
CREATE TABLE passkeys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id TEXT,
  name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  counter INTEGER NOT NULL,
  transports TEXT NOT NULL DEFAULT '[]',
  device_type TEXT NOT NULL,
  backed_up INTEGER NOT NULL,
  aaguid TEXT,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE TABLE webauthn_challenges (
  id TEXT PRIMARY KEY,
  challenge TEXT NOT NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'second_factor')),
  user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
  session_id TEXT,
  mfa_token_digest TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_ms);
CREATE TABLE mfa_tokens (
  digest TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  amr TEXT NOT NULL,
  ip TEXT,
  user_agent TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX mfa_tokens_expiry ON mfa_tokens (expires_ms);
`,
  postgres: `ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT '["pwd"]';
ALTER TABLE sessions ADD COLUMN auth_time_ms bigint;
ALTER TABLE sessions ADD COLUMN reauth_ms bigint;
ALTER TABLE sessions ADD COLUMN second_factor_ms bigint;
ALTER TABLE tenants ADD COLUMN mfa_required text NOT NULL DEFAULT 'off'
  CHECK (mfa_required IN ('off', 'admins', 'all'));
CREATE TABLE totp_factors (
  user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret text NOT NULL,
  confirmed_ms bigint,
  last_step bigint,
  created_ms bigint NOT NULL
);
CREATE TABLE recovery_codes (
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  digest text NOT NULL,
  created_ms bigint NOT NULL,
  used_ms bigint,
  PRIMARY KEY (user_id, digest)
);
CREATE TABLE passkeys (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id text COLLATE "C",
  name text NOT NULL,
  public_key text NOT NULL,
  counter bigint NOT NULL,
  transports text NOT NULL DEFAULT '[]',
  device_type text NOT NULL,
  backed_up integer NOT NULL,
  aaguid text,
  created_ms bigint NOT NULL,
  last_used_ms bigint
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE TABLE webauthn_challenges (
  id text PRIMARY KEY,
  challenge text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('register', 'login', 'second_factor')),
  user_id text REFERENCES users (id) ON DELETE CASCADE,
  session_id text,
  mfa_token_digest text,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_ms);
CREATE TABLE mfa_tokens (
  digest text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id text COLLATE "C" NOT NULL,
  amr text NOT NULL,
  ip text,
  user_agent text,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX mfa_tokens_expiry ON mfa_tokens (expires_ms);
DROP TRIGGER sessions_credentials ON sessions;
CREATE TRIGGER sessions_credentials
  AFTER UPDATE OF revoked_ms, expires_ms, user_id, tenant_id, amr, reauth_ms, second_factor_ms
  OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('session', 'id');
DROP TRIGGER tenants_credentials ON tenants;
CREATE TRIGGER tenants_credentials AFTER UPDATE OF status, deleted_ms, mfa_required OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION tessera_credentials_changed('tenant', 'id');
`,
};
