import type { Migration } from '../storage/migrate.ts';

/**
 * Email (issue 17): a durable outbox, tenants' branding and templates, one-time email
 * tokens, invitation tokens and two per-tenant sign-in settings.
 *
 * - `email_outbox` (email): a message is written here in the transaction of the change
 *   that causes it, rendered, and sent later by the background sender. A node claims a
 *   row by setting `lease_owner` and `lease_until_ms` in one UPDATE; a row whose lease
 *   ran out (its node died) is claimed again, so a message is sent at least once.
 *   `message_id` is fixed at enqueue time, so a resend carries the same Message-ID.
 *   The bodies (which hold one-time links) are cleared once the message is sent.
 * - `email_settings` (email): a tenant's branding as one JSON object.
 * - `email_templates` (email): a tenant's override of one kind of message.
 * - `email_tokens` (identity): email verification, password reset and magic link
 *   tokens; only the SHA-256 digest is stored, and using one is one DELETE ...
 *   RETURNING, so it works once across every node. `email` is the address it was sent
 *   to: a token is void once the account's address changed.
 * - `invitations.token_digest` (tenancy): the digest of the token the invitation email
 *   carries (resending replaces it); `team_ids` the teams joined on acceptance.
 * - `tenants.require_verified_email`, `tenants.redirect_uris` (tenancy): whether login
 *   needs a verified address, and where a magic link may send its user back to.
 */
export const email: Migration = {
  version: 12,
  name: 'email',
  sqlite: `CREATE TABLE email_outbox (
  id TEXT PRIMARY KEY,
  tenant_id TEXT,
  template TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT,
  html_body TEXT,
  message_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until_ms INTEGER,
  last_error TEXT,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER
) STRICT;
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_ms);
CREATE TABLE email_settings (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
  branding TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE email_templates (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, kind)
) STRICT;
CREATE TABLE email_tokens (
  digest TEXT PRIMARY KEY,
  purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'magic_link')),
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id TEXT,
  email TEXT NOT NULL,
  redirect_uri TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
ALTER TABLE invitations ADD COLUMN token_digest TEXT;
ALTER TABLE invitations ADD COLUMN team_ids TEXT NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX invitations_token ON invitations (token_digest);
ALTER TABLE tenants ADD COLUMN require_verified_email INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
`,
  postgres: `CREATE TABLE email_outbox (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C",
  template text NOT NULL,
  recipient text NOT NULL,
  subject text NOT NULL,
  text_body text,
  html_body text,
  message_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_ms bigint NOT NULL,
  lease_owner text,
  lease_until_ms bigint,
  last_error text,
  created_ms bigint NOT NULL,
  finished_ms bigint
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_ms);
CREATE TABLE email_settings (
  tenant_id text COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
  branding text NOT NULL,
  updated_ms bigint NOT NULL
);
CREATE TABLE email_templates (
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  kind text NOT NULL,
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, kind)
);
CREATE TABLE email_tokens (
  digest text PRIMARY KEY,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'magic_link')),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id text COLLATE "C",
  email text NOT NULL,
  redirect_uri text,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
ALTER TABLE invitations ADD COLUMN token_digest text;
ALTER TABLE invitations ADD COLUMN team_ids text NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX invitations_token ON invitations (token_digest);
ALTER TABLE tenants ADD COLUMN require_verified_email integer NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN redirect_uris text NOT NULL DEFAULT '[]';
`,
};
