import type { Migration } from '../storage/migrate.ts';

/**
 * The OpenID Provider (issue 19), identity's tables:
 *
 * - `oidc_payloads`: what `oidc-provider` stores through its adapter (identity/oidc/
 *   oidc-adapter.ts): authorization codes, refresh tokens, grants, browser sessions,
 *   interactions, client-credentials tokens, one row per model and id. `payload` is the
 *   provider's JSON as given; `grant_id`, `uid` and `account_id` are copied out of it so
 *   a grant's tokens can be revoked together, a session found by its uid, and every
 *   browser session of a user ended with their Tessera sessions. `expires_ms` is when the
 *   provider said it expires (rows past it are never answered and are swept);
 *   `consumed_ms` marks a used code or a rotated refresh token (reuse detection).
 * - `sessions.oauth_grant_id` / `oauth_client_id`: the OAuth grant (and its client) a
 *   Tessera session was started for. The guard checks an OpenID access token's `sid`
 *   like any other; ending the session ends the grant's refresh tokens and the other way
 *   round.
 */
export const oidc: Migration = {
  version: 15,
  name: 'oidc',
  sqlite: `CREATE TABLE oidc_payloads (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  uid TEXT,
  account_id TEXT,
  expires_ms INTEGER,
  consumed_ms INTEGER,
  PRIMARY KEY (model, id)
) STRICT;
CREATE INDEX oidc_payloads_grant ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_payloads_uid ON oidc_payloads (uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_payloads_account ON oidc_payloads (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX oidc_payloads_expiry ON oidc_payloads (expires_ms);
ALTER TABLE sessions ADD COLUMN oauth_grant_id TEXT;
ALTER TABLE sessions ADD COLUMN oauth_client_id TEXT;
CREATE INDEX sessions_oauth_grant ON sessions (oauth_grant_id) WHERE oauth_grant_id IS NOT NULL;
`,
  postgres: `CREATE TABLE oidc_payloads (
  model text NOT NULL,
  id text NOT NULL,
  payload text NOT NULL,
  grant_id text,
  uid text,
  account_id text,
  expires_ms bigint,
  consumed_ms bigint,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_payloads_grant ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_payloads_uid ON oidc_payloads (uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_payloads_account ON oidc_payloads (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX oidc_payloads_expiry ON oidc_payloads (expires_ms);
ALTER TABLE sessions ADD COLUMN oauth_grant_id text;
ALTER TABLE sessions ADD COLUMN oauth_client_id text;
CREATE INDEX sessions_oauth_grant ON sessions (oauth_grant_id) WHERE oauth_grant_id IS NOT NULL;
`,
};
