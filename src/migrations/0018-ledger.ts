import type { Migration } from '../storage/migrate.ts';

/**
 * The tamper-evident ledger (issue 22): every partition of the event log (an
 * `events.tenant_id` value: a tenant's own log, or its `$audit:<tenant>` trail) is a
 * hash chain, `hash = SHA-256(previous hash ‖ RFC 8785 canonical form of the event)`
 * (src/events/chain/, docs/ledger.md).
 *
 * - `events.hash`: the event's chain hash, 64 lowercase hex digits, written by the
 *   append transaction. NULL only for events stored before this migration until the
 *   backfill has chained them (oldest first, per partition).
 * - `ledger_heads` (the events domain's, written in the append transaction beside
 *   `event_log_head`): each partition's last chained event, its hash, and how many
 *   events the chain holds, which the backfill resumes from and checkpoints count by.
 * - `ledger_checkpoints` (the ledger domain's): signed statements that a partition's
 *   chain reached `hash` at `position` (`chained` events), as a compact JWS (EdDSA,
 *   `kid` naming the signing key that made it). Never updated or deleted.
 */
export const ledger: Migration = {
  version: 18,
  name: 'ledger',
  sqlite: `ALTER TABLE events ADD COLUMN hash TEXT;

CREATE TABLE ledger_heads (
  partition TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  hash TEXT NOT NULL,
  chained INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE ledger_checkpoints (
  partition TEXT NOT NULL,
  position INTEGER NOT NULL,
  hash TEXT NOT NULL,
  chained INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  kid TEXT NOT NULL,
  jws TEXT NOT NULL,
  PRIMARY KEY (partition, position)
) STRICT, WITHOUT ROWID;
`,
  postgres: `ALTER TABLE events ADD COLUMN hash text;

CREATE TABLE ledger_heads (
  partition text PRIMARY KEY,
  position bigint NOT NULL,
  hash text NOT NULL,
  chained bigint NOT NULL
);

CREATE TABLE ledger_checkpoints (
  partition text NOT NULL,
  position bigint NOT NULL,
  hash text NOT NULL,
  chained bigint NOT NULL,
  time_ms bigint NOT NULL,
  kid text NOT NULL,
  jws text NOT NULL,
  PRIMARY KEY (partition, position)
);
`,
};
