import type { AppendFailure, AppendUnit } from './model.ts';

export const DAY_MS = 86_400_000;

/** The `quota_usage` rows appends keep: events per UTC day, and bytes stored (window 0). */
export const EVENTS_PER_DAY = 'max_events_per_day';
export const STORAGE_BYTES = 'max_storage_bytes';

/** What a tenant had used when the append transaction read it. */
export interface TenantUsage {
  readonly events_today: number;
  readonly storage_bytes: number;
}

/** What one commit adds to a tenant's counters. */
export interface UsageChange {
  readonly tenant_id: string;
  readonly events: number;
  readonly bytes: number;
}

/**
 * Every event of a commit gets this time: never earlier than the previous commit's,
 * so time order follows position order. The day it falls in is the window the
 * events count toward, so engines read that day's counter with this too.
 */
export const commitTime = (head: { readonly time_ms: number }, nowMs: number): number =>
  Math.max(nowMs, head.time_ms);

export const dayStart = (timeMs: number): number => timeMs - (timeMs % DAY_MS);

const isLimited = (unit: AppendUnit): boolean =>
  unit.limits !== undefined &&
  (unit.limits.max_events_per_day > 0 || unit.limits.max_storage_bytes > 0);

/** Tenants whose usage the engine must read in the transaction: those with a unit to check. */
export function limitedTenants(units: readonly AppendUnit[]): string[] {
  const tenants = new Set<string>();
  for (const unit of units) if (isLimited(unit)) tenants.add(unit.tenant_id);
  return [...tenants];
}

/** True when a unit's size must be known before it is planned (a storage limit). */
export const needsBytes = (unit: AppendUnit): boolean => (unit.limits?.max_storage_bytes ?? 0) > 0;

/**
 * Usage as the commit goes: what was read plus what earlier units of the same commit
 * add, so units of one group commit cannot together overshoot a limit. Every written
 * unit is counted, limited or not, so the counters are right when a limit is set later.
 */
export function createUsageTracker(read: ReadonlyMap<string, TenantUsage>, timeMs: number) {
  const added = new Map<string, { events: number; bytes: number }>();
  const resetAt = dayStart(timeMs) + DAY_MS;

  return {
    /** The refusal of a unit of `bytes` (when its storage is limited) over a limit, or undefined. */
    check(unit: AppendUnit, bytes: number): AppendFailure | undefined {
      if (!isLimited(unit)) return undefined;
      const limits = unit.limits as NonNullable<AppendUnit['limits']>;
      const events = unit.entities.reduce((sum, entity) => sum + entity.events.length, 0);
      const base = read.get(unit.tenant_id);
      // A bug in an engine, not a client's doing: refusing on a guess would be wrong.
      if (!base) throw new Error(`usage of tenant ${unit.tenant_id} was not read`);
      const more = added.get(unit.tenant_id);
      const eventsUsed = base.events_today + (more?.events ?? 0);
      const max = limits.max_events_per_day;
      if (max > 0 && eventsUsed + events > max) {
        return refusal(EVENTS_PER_DAY, max, eventsUsed, resetAt);
      }
      const bytesUsed = base.storage_bytes + (more?.bytes ?? 0);
      const maxBytes = limits.max_storage_bytes;
      if (maxBytes > 0 && bytesUsed + bytes > maxBytes) {
        return refusal(STORAGE_BYTES, maxBytes, bytesUsed, null);
      }
      return undefined;
    },
    add(tenantId: string, events: number, bytes: number): void {
      const more = added.get(tenantId);
      if (more) {
        more.events += events;
        more.bytes += bytes;
      } else {
        added.set(tenantId, { events, bytes });
      }
    },
    changes(): UsageChange[] {
      return [...added].map(([tenant_id, { events, bytes }]) => ({ tenant_id, events, bytes }));
    },
  };
}

function refusal(
  quota: typeof EVENTS_PER_DAY | typeof STORAGE_BYTES,
  limit: number,
  used: number,
  reset_at_ms: number | null,
): AppendFailure {
  return { ok: false, reason: 'quota_exceeded', quota, limit, used, reset_at_ms };
}
