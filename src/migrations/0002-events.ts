import type { Migration } from '../storage/migrate.ts';

/**
 * The event log and the small tables kept beside it in the same transaction.
 *
 * - `events`: position is the primary key (a generated event id encodes it, so a
 *   lookup by id needs no index); only client-supplied ids get a (partial) index.
 *   Indexes: entity stream, type, and the tenant's log by position.
 * - `event_log_head`: one row holding the last position and commit time. Every
 *   append transaction updates it, which serialises commits so positions become
 *   visible in order (no reader can skip an event that commits later with a lower
 *   position) and commit times never decrease with position.
 * - `event_commits`: first position and time of each commit; a time filter becomes
 *   a position range through its time index, with no time index on `events`.
 * - `entities` and `event_types`: per-tenant summaries for listing, stats and
 *   version checks without scanning events.
 */
export const events: Migration = {
  version: 2,
  name: 'events',
  sqlite: `CREATE TABLE events (
  position INTEGER PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  payload TEXT NOT NULL,
  metadata TEXT NOT NULL,
  client_id TEXT
) STRICT;
CREATE UNIQUE INDEX events_entity_version ON events (tenant_id, entity_id, version);
CREATE INDEX events_type_position ON events (tenant_id, event_type, position);
CREATE INDEX events_tenant_position ON events (tenant_id, position);
CREATE UNIQUE INDEX events_client_id ON events (tenant_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE event_log_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  position INTEGER NOT NULL,
  time_ms INTEGER NOT NULL
) STRICT;
INSERT INTO event_log_head (id, position, time_ms) VALUES (1, 0, 0);

CREATE TABLE event_commits (
  first_position INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX event_commits_time ON event_commits (time_ms, first_position);

CREATE TABLE entities (
  tenant_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_position INTEGER NOT NULL,
  last_time_ms INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, entity_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE event_types (
  tenant_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, event_type)
) STRICT, WITHOUT ROWID;
`,
  postgres: `CREATE TABLE events (
  position bigint PRIMARY KEY,
  tenant_id text NOT NULL,
  entity_id text NOT NULL,
  version integer NOT NULL,
  event_type text NOT NULL,
  time_ms bigint NOT NULL,
  payload jsonb NOT NULL,
  metadata jsonb NOT NULL,
  client_id uuid
);
CREATE UNIQUE INDEX events_entity_version ON events (tenant_id, entity_id, version);
CREATE INDEX events_type_position ON events (tenant_id, event_type, position);
CREATE INDEX events_tenant_position ON events (tenant_id, position);
CREATE UNIQUE INDEX events_client_id ON events (tenant_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE event_log_head (
  id integer PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL,
  time_ms bigint NOT NULL
);
INSERT INTO event_log_head (id, position, time_ms) VALUES (1, 0, 0);

CREATE TABLE event_commits (
  first_position bigint PRIMARY KEY,
  time_ms bigint NOT NULL
);
CREATE INDEX event_commits_time ON event_commits (time_ms, first_position);

CREATE TABLE entities (
  tenant_id text NOT NULL,
  entity_id text NOT NULL,
  version integer NOT NULL,
  last_position bigint NOT NULL,
  last_time_ms bigint NOT NULL,
  bytes bigint NOT NULL,
  PRIMARY KEY (tenant_id, entity_id)
);

CREATE TABLE event_types (
  tenant_id text NOT NULL,
  event_type text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (tenant_id, event_type)
);
`,
};
