import type { Migration } from '../storage/migrate.ts';

/**
 * - `snapshots`: an entity's folded state as of `version`, with the position and
 *   commit time (`time_ms`) of the event at that version. The primary key serves
 *   "newest snapshot" (highest version); `snapshots_time` serves "newest at or before
 *   time T" as one index seek. A rowid table on SQLite because states can be large,
 *   which WITHOUT ROWID tables store poorly.
 * - PostgreSQL only: entity ids and event types compare by code point (`COLLATE "C"`),
 *   as SQLite's BINARY does, so ordering, cursors and prefix ranges agree on both
 *   engines and a prefix range can use the btree. The tables are new, so rebuilding
 *   their indexes is cheap.
 */
export const snapshots: Migration = {
  version: 3,
  name: 'snapshots',
  sqlite: `CREATE TABLE snapshots (
  tenant_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  position INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, entity_id, version)
) STRICT;
CREATE INDEX snapshots_time ON snapshots (tenant_id, entity_id, time_ms, version);
`,
  postgres: `CREATE TABLE snapshots (
  tenant_id text NOT NULL,
  entity_id text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  position bigint NOT NULL,
  time_ms bigint NOT NULL,
  state jsonb NOT NULL,
  created_ms bigint NOT NULL,
  PRIMARY KEY (tenant_id, entity_id, version)
);
CREATE INDEX snapshots_time ON snapshots (tenant_id, entity_id, time_ms, version);

ALTER TABLE events
  ALTER COLUMN entity_id TYPE text COLLATE "C",
  ALTER COLUMN event_type TYPE text COLLATE "C";
ALTER TABLE entities ALTER COLUMN entity_id TYPE text COLLATE "C";
ALTER TABLE event_types ALTER COLUMN event_type TYPE text COLLATE "C";
`,
};
