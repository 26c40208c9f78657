import type { Kysely } from 'kysely';
import type { Database } from '../storage/open-database.ts';
import { servableJson } from './deep-json.ts';

/** What is saved: the folded state as of `version`, and where that event sits in the log. */
export interface NewSnapshot {
  readonly entity_id: string;
  /** The entity version the state includes. */
  readonly version: number;
  /** Position of the event at `version`. */
  readonly position: number;
  /** Commit time of the event at `version`, epoch ms. */
  readonly time_ms: number;
  /** Any JSON value. */
  readonly state: unknown;
}

export interface Snapshot {
  readonly entity_id: string;
  readonly version: number;
  readonly position: number;
  /** Of the event at `version`: RFC 3339 with milliseconds, UTC. */
  readonly timestamp: string;
  /** When the snapshot was saved: RFC 3339 with milliseconds, UTC. */
  readonly created_at: string;
  readonly state: unknown;
}

export interface ListSnapshotsOptions {
  /** Version cursor (the last version of the previous page): only versions below it. */
  readonly after_version?: number | undefined;
  readonly limit: number;
}

export interface SnapshotStore {
  /** True when written; false when a snapshot at that version already existed (kept as is). */
  saveSnapshot(tenantId: string, snapshot: NewSnapshot): Promise<boolean>;
  /** The highest version, or with `asOfMs` the highest whose `time_ms <= asOfMs`. */
  latestSnapshot(
    tenantId: string,
    entityId: string,
    asOfMs?: number,
  ): Promise<Snapshot | undefined>;
  /**
   * Newest first, since callers want the most recent states; `after_version` pages
   * towards older ones and stays stable while newer snapshots are being added.
   */
  listSnapshots(
    tenantId: string,
    entityId: string,
    options: ListSnapshotsOptions,
  ): Promise<Snapshot[]>;
}

interface SnapshotRow {
  tenant_id: string;
  entity_id: string;
  version: number;
  position: number;
  time_ms: number;
  /** Written as JSON text; read back as text (SQLite) or already parsed (jsonb). */
  state: unknown;
  created_ms: number;
}

interface SnapshotTables {
  snapshots: SnapshotRow;
}

const COLUMNS = ['entity_id', 'version', 'position', 'time_ms', 'state', 'created_ms'] as const;

/** One Kysely store for both engines; `now` (epoch ms) stamps `created_at`. */
export function createSnapshotStore(db: Database, now: () => number = Date.now): SnapshotStore {
  const kysely: Kysely<SnapshotTables> = db.kysely;
  const toSnapshot = (row: Omit<SnapshotRow, 'tenant_id'>): Snapshot => ({
    entity_id: row.entity_id,
    version: row.version,
    position: row.position,
    timestamp: new Date(row.time_ms).toISOString(),
    created_at: new Date(row.created_ms).toISOString(),
    // A state nested too deep to serialize (folded from events stored before the door
    // refused such bodies) is served as its JSON text, as such events are (deep-json.ts).
    state: servableJson(
      db.capabilities.nativeJson ? row.state : JSON.parse(String(row.state)),
      row.state,
    ),
  });

  return {
    async saveSnapshot(tenantId, snapshot) {
      const result = await kysely
        .insertInto('snapshots')
        .values({
          tenant_id: tenantId,
          entity_id: snapshot.entity_id,
          version: snapshot.version,
          position: snapshot.position,
          time_ms: snapshot.time_ms,
          // A string on both engines: pg would turn a JS array into a PostgreSQL array.
          state: stateJson(snapshot.state),
          created_ms: now(),
        })
        .onConflict((conflict) =>
          conflict.columns(['tenant_id', 'entity_id', 'version']).doNothing(),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async latestSnapshot(tenantId, entityId, asOfMs) {
      let query = kysely
        .selectFrom('snapshots')
        .select(COLUMNS)
        .where('tenant_id', '=', tenantId)
        .where('entity_id', '=', entityId);
      // Ordered like the snapshots_time index, so the seek needs no sort.
      query =
        asOfMs === undefined
          ? query.orderBy('version', 'desc')
          : query
              .where('time_ms', '<=', asOfMs)
              .orderBy('time_ms', 'desc')
              .orderBy('version', 'desc');
      const row = await query.limit(1).executeTakeFirst();
      return row && toSnapshot(row);
    },

    async listSnapshots(tenantId, entityId, { after_version, limit }) {
      let query = kysely
        .selectFrom('snapshots')
        .select(COLUMNS)
        .where('tenant_id', '=', tenantId)
        .where('entity_id', '=', entityId);
      if (after_version !== undefined) query = query.where('version', '<', after_version);
      const rows = await query.orderBy('version', 'desc').limit(limit).execute();
      return rows.map(toSnapshot);
    },
  };
}

function stateJson(state: unknown): string {
  const json = JSON.stringify(state);
  if (json === undefined) throw new TypeError('snapshot state must be a JSON value');
  return json;
}
