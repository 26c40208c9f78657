import type { Config } from '../config/schema.ts';
import { TesseraError } from '../platform/errors.ts';
import { EventErrors } from './errors.ts';
import { type EntityState, foldState } from './fold-state.ts';
import type { AppendSuccess, StoredEvent } from './model.ts';
import { readItemsWithinBytes } from './read-within-bytes.ts';
import type { ListSnapshotsOptions, Snapshot, SnapshotStore } from './snapshot-store.ts';
import type { EventStore } from './store.ts';

export interface StateService {
  /**
   * The entity's state: payloads folded with JSON Merge Patch (RFC 7396), from the
   * newest snapshot at or before `asOfMs` (or from nothing), through every later
   * event at or before `asOfMs`. Throws entity_not_found when there is none.
   */
  state(tenantId: string, entityId: string, asOfMs?: number): Promise<EntityState>;
  /** Folds the current state and saves it as a snapshot. */
  createSnapshot(tenantId: string, entityId: string): Promise<Snapshot>;
  /**
   * Newest first, bounded by `storage.max_read_page_bytes` of snapshot JSON as well as
   * by `limit` (never fewer than one). `full`: there may be older ones after the last.
   */
  listSnapshots(
    tenantId: string,
    entityId: string,
    options: ListSnapshotsOptions,
  ): Promise<{ readonly snapshots: Snapshot[]; readonly full: boolean }>;
  /** Throws snapshot_not_found. */
  latestSnapshot(tenantId: string, entityId: string): Promise<Snapshot>;
  /** Takes the automatic snapshots an append made due (every `snapshotEvery` events). */
  afterAppend(tenantId: string, success: AppendSuccess): Promise<void>;
}

export interface StateServiceDeps {
  readonly store: EventStore;
  readonly snapshots: SnapshotStore;
  /** 0: no automatic snapshots. */
  readonly snapshotEvery: number;
  readonly storage: Pick<Config['storage'], 'max_event_bytes' | 'max_read_page_bytes'>;
  readonly onSnapshotError?: ((error: unknown, entityId: string) => void) | undefined;
}

const PAGE = 1000;

interface Folded {
  readonly state: EntityState;
  /** Position and commit time of the event at `state.version`. */
  readonly position: number;
  readonly time_ms: number;
}

export function createStateService(deps: StateServiceDeps): StateService {
  const { store, snapshots } = deps;

  async function fold(
    tenantId: string,
    entityId: string,
    asOfMs?: number,
  ): Promise<Folded | undefined> {
    const snapshot = await snapshots.latestSnapshot(tenantId, entityId, asOfMs);
    let current: Folded | undefined = snapshot && {
      state: {
        entity_id: entityId,
        version: snapshot.version,
        last_updated: snapshot.timestamp,
        state: snapshot.state,
      },
      position: snapshot.position,
      time_ms: Date.parse(snapshot.timestamp),
    };
    for (;;) {
      const from = current ? current.state.version + 1 : 0;
      const page = await store.readStream(tenantId, entityId, {
        direction: 'forward',
        from_version: from,
        limit: PAGE,
      });
      const due =
        asOfMs === undefined ? page : page.filter((event) => Date.parse(event.timestamp) <= asOfMs);
      const last = due.at(-1);
      if (last) current = { state: foldState(current?.state, due) as EntityState, ...at(last) };
      if (page.length < PAGE || due.length < page.length) return current;
    }
  }

  async function createSnapshot(tenantId: string, entityId: string): Promise<Snapshot> {
    const folded = await fold(tenantId, entityId);
    if (!folded) throw notFound(entityId);
    const { state, position, time_ms } = folded;
    await snapshots.saveSnapshot(tenantId, {
      entity_id: entityId,
      version: state.version,
      position,
      time_ms,
      state: state.state,
    });
    return (await snapshots.latestSnapshot(tenantId, entityId)) as Snapshot;
  }

  return {
    async state(tenantId, entityId, asOfMs) {
      const folded = await fold(tenantId, entityId, asOfMs);
      if (!folded) throw notFound(entityId);
      return folded.state;
    },
    createSnapshot,
    async listSnapshots(tenantId, entityId, { after_version, limit }) {
      const { items, full } = await readItemsWithinBytes<Snapshot>(
        (last, count) =>
          snapshots.listSnapshots(tenantId, entityId, {
            after_version: last?.version ?? after_version,
            limit: count,
          }),
        limit,
        deps.storage.max_read_page_bytes,
        // A state is folded from events, so an event's size is a fair first guess.
        deps.storage.max_event_bytes,
        (snapshot) => Buffer.byteLength(JSON.stringify(snapshot)),
      );
      return { snapshots: items, full };
    },
    async latestSnapshot(tenantId, entityId) {
      const snapshot = await snapshots.latestSnapshot(tenantId, entityId);
      if (!snapshot) {
        throw new TesseraError(
          EventErrors.snapshot_not_found,
          `Entity ${JSON.stringify(entityId)} has no snapshot.`,
        );
      }
      return snapshot;
    },
    async afterAppend(tenantId, success) {
      const every = deps.snapshotEvery;
      if (every <= 0) return;
      const first = new Map<string, number>();
      for (const event of success.events) {
        if (!first.has(event.entity_id)) first.set(event.entity_id, event.version);
      }
      for (const [entityId, last] of Object.entries(success.last_versions)) {
        // Due when this append crossed a multiple of `every` events (versions are 0-based).
        const before = first.get(entityId) ?? last;
        if (Math.floor((last + 1) / every) === Math.floor(before / every)) continue;
        // The append is already durable: a failed snapshot must not fail it.
        await createSnapshot(tenantId, entityId).catch((error) =>
          deps.onSnapshotError?.(error, entityId),
        );
      }
    },
  };
}

function at(event: StoredEvent) {
  return { position: event.position, time_ms: Date.parse(event.timestamp) };
}

function notFound(entityId: string): TesseraError {
  return new TesseraError(
    EventErrors.entity_not_found,
    `Entity ${JSON.stringify(entityId)} has no events.`,
  );
}
