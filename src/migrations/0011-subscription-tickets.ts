import type { Migration } from '../storage/migrate.ts';

/**
 * Subscription tickets (issue 15): short-lived, single-use credentials a browser
 * passes as `?ticket=` to the SSE and WebSocket routes, which cannot carry headers.
 * Only the SHA-256 digest of a ticket is stored. A ticket names the credential it was
 * issued to (a login session's id, or an API key's digest), which is authenticated
 * again when the ticket is used. Consumed by one DELETE ... RETURNING, so it works
 * once across all nodes sharing the database; expired rows are deleted as tickets
 * are issued, and live ones are counted per credential (its own index) to cap them.
 */
export const subscriptionTickets: Migration = {
  version: 11,
  name: 'subscription-tickets',
  sqlite: `CREATE TABLE subscription_tickets (
  digest TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  credential_kind TEXT NOT NULL CHECK (credential_kind IN ('session', 'api_key')),
  credential TEXT NOT NULL,
  user_id TEXT,
  expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX subscription_tickets_expires ON subscription_tickets (expires_ms);
CREATE INDEX subscription_tickets_credential ON subscription_tickets (credential, expires_ms);
`,
  postgres: `CREATE TABLE subscription_tickets (
  digest text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  credential_kind text NOT NULL CHECK (credential_kind IN ('session', 'api_key')),
  credential text NOT NULL,
  user_id text,
  expires_ms bigint NOT NULL
);
CREATE INDEX subscription_tickets_expires ON subscription_tickets (expires_ms);
CREATE INDEX subscription_tickets_credential ON subscription_tickets (credential, expires_ms);
`,
};
