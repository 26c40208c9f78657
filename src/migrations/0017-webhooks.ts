import type { Migration } from '../storage/migrate.ts';

/**
 * Webhooks (issue 21).
 *
 * The webhooks domain's tables:
 * - `webhook_endpoints`: a tenant's receiver. `filters` is JSON (`event_types`
 *   patterns, `entity_prefix`, `platform_events` patterns). The signing secret is
 *   sealed with a key derived from the master key (`secret_box`, AES-256-GCM, the
 *   endpoint's `webhook_endpoint:<id>` as associated data); after a rotation the old one keeps signing beside
 *   the new until `previous_secret_until_ms`. Delivery state lives on the row, so what
 *   is due is decided from the durable log and nothing else: `cursor_position` is the
 *   log position everything up to which was delivered (or did not match);
 *   `attempts`, `next_attempt_ms` and `failing_since_ms` hold back the event at the
 *   head while its receiver fails. `lease_owner` / `lease_until_ms`: the one node
 *   delivering the endpoint now; another takes over when the lease runs out.
 *   `disabled_reason`: `manual`, `gone` (the receiver answered 410) or `failing` (the
 *   whole retry schedule failed).
 * - `webhook_attempts`: the delivery log, one row per attempt (scheduled, a manual
 *   retry, a replay or a test ping): status, latency, the first bytes of the answer,
 *   the error. `source` says which partition of the log holds the event (`events`:
 *   the tenant's own, `platform`: its `$audit` trail). Old rows are purged.
 *
 * Tenancy's column on `tenant_quotas`: `max_webhooks` (0: unlimited; rows set before
 * it existed get 0 and stay bounded by `webhooks.max_endpoints_per_tenant`).
 */
export const webhooks: Migration = {
  version: 17,
  name: 'webhooks',
  sqlite: `CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  url TEXT NOT NULL,
  description TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  disabled_reason TEXT CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
  filters TEXT NOT NULL,
  secret_box TEXT NOT NULL,
  previous_secret_box TEXT,
  previous_secret_until_ms INTEGER,
  cursor_position INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  failing_since_ms INTEGER,
  last_delivered_ms INTEGER,
  lease_owner TEXT,
  lease_until_ms INTEGER,
  created_by TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);
CREATE TABLE webhook_attempts (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  source TEXT CHECK (source IN ('events', 'platform')),
  event_id TEXT,
  position INTEGER,
  type TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('scheduled', 'retry', 'ping')),
  attempt INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
  status INTEGER,
  latency_ms INTEGER NOT NULL,
  response TEXT,
  error TEXT,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (created_ms);
ALTER TABLE tenant_quotas ADD COLUMN max_webhooks INTEGER NOT NULL DEFAULT 0;
`,
  postgres: `CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id),
  url text NOT NULL,
  description text NOT NULL,
  enabled integer NOT NULL CHECK (enabled IN (0, 1)),
  disabled_reason text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
  filters text NOT NULL,
  secret_box text NOT NULL,
  previous_secret_box text,
  previous_secret_until_ms bigint,
  cursor_position bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_ms bigint NOT NULL DEFAULT 0,
  failing_since_ms bigint,
  last_delivered_ms bigint,
  lease_owner text,
  lease_until_ms bigint,
  created_by text,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);
CREATE TABLE webhook_attempts (
  id text COLLATE "C" PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant_id text COLLATE "C" NOT NULL,
  message_id text NOT NULL,
  source text CHECK (source IN ('events', 'platform')),
  event_id text,
  position bigint,
  type text NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('scheduled', 'retry', 'ping')),
  attempt integer NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed')),
  status integer,
  latency_ms integer NOT NULL,
  response text,
  error text,
  created_ms bigint NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (created_ms);
ALTER TABLE tenant_quotas ADD COLUMN max_webhooks bigint NOT NULL DEFAULT 0;
`,
};
