import type { Migration } from '../storage/migrate.ts';

/**
 * Invitations (issue 15): a tenant administrator who adds an identity that is not
 * theirs alone asks, and the identity's owner accepts or declines while signed in.
 *
 * - `invitations`: one pending invitation per tenant and user (a new one replaces
 *   it); `roles` is the JSON array the membership will hold. Accepting or declining
 *   deletes the row in one statement, so an invitation is used at most once.
 *   `invited_by` is the actor's id as the audit trail names it (no foreign key: the
 *   inviter may be an API key or be erased later). Gone with the user.
 */
export const invitations: Migration = {
  version: 10,
  name: 'invitations',
  sqlite: `CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  roles TEXT NOT NULL,
  invited_by TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  UNIQUE (tenant_id, user_id)
) STRICT;
CREATE INDEX invitations_user ON invitations (user_id);
`,
  postgres: `CREATE TABLE invitations (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  roles text NOT NULL,
  invited_by text,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  UNIQUE (tenant_id, user_id)
);
CREATE INDEX invitations_user ON invitations (user_id);
`,
};
