import type { TenantQuotas } from './quotas.ts';

export interface QuotaCacheOptions {
  /** How long a tenant's quotas are reused without being told of a change. */
  readonly ttlMs: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export interface QuotaCache {
  /** The cached quotas, fresh, or undefined: then call `load`. Synchronous for the hot path. */
  peek(tenantId: string): TenantQuotas | undefined;
  /** Loads and keeps the answer, unless a change was heard while it was being read. */
  load(
    tenantId: string,
    read: () => Promise<TenantQuotas | undefined>,
  ): Promise<TenantQuotas | undefined>;
  /** A tenant's quotas or plan changed (here, or on another node, or in another process). */
  forget(tenantId: string): void;
  /** Forget everything: changes may have been missed (a lost listener, another process). */
  clear(): void;
  /** Run before every lookup; true drops everything first (SQLite: another process wrote). */
  checkOutsideWrites(seen: () => boolean): void;
}

interface Entry {
  readonly value: TenantQuotas;
  readonly expiresAt: number;
}

/**
 * Per-node cache of tenants' effective quotas, so an append or a read costs no
 * lookup of them. Correctness rests on being told of changes (this node's own, and
 * other nodes' through PostgreSQL notifications or SQLite's data version); the TTL
 * bounds how long a change could go unseen if a notification were lost.
 */
export function createQuotaCache(options: QuotaCacheOptions): QuotaCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  let outsideWriteSeen: (() => boolean) | undefined;
  // Bumped by every change: a read that began before it may hold the old quotas.
  let generation = 0;

  function clear(): void {
    generation++;
    entries.clear();
  }

  return {
    peek(tenantId) {
      if (outsideWriteSeen?.()) clear();
      const entry = entries.get(tenantId);
      if (!entry) return undefined;
      if (entry.expiresAt > now()) return entry.value;
      entries.delete(tenantId);
      return undefined;
    },
    async load(tenantId, read) {
      const started = generation;
      const value = await read();
      if (value && started === generation && options.ttlMs > 0) {
        // Maps iterate in insertion order: the first key is the oldest entry.
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(tenantId, { value, expiresAt: now() + options.ttlMs });
      }
      return value;
    },
    forget(tenantId) {
      generation++;
      entries.delete(tenantId);
    },
    clear,
    checkOutsideWrites(seen) {
      outsideWriteSeen = seen;
      clear();
    },
  };
}
