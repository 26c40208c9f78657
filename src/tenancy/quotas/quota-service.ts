import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { EventQuotas } from '../../events/quotas.ts';
import { TesseraError } from '../../platform/errors.ts';
import { EVERYTHING } from '../../storage/change-feed.ts';
import { createInvalidatingCache } from '../../storage/invalidating-cache.ts';
import type { Database } from '../../storage/open-database.ts';
import { TenancyErrors } from '../errors.ts';
import { quotaExceeded } from './quota-exceeded.ts';
import { createQuotaStore } from './quota-store.ts';
import {
  DAY_MS,
  HOUR_MS,
  PRESETS,
  type PresetName,
  type QuotaName,
  type Quotas,
  type TenantQuotas,
  windowStart,
} from './quotas.ts';
import type { CountWebhooks } from './webhook-count-port.ts';

/** Every quota at once, or a preset's numbers (stored explicitly: a plan change keeps them). */
export type QuotaUpdate = Quotas | { readonly preset: PresetName };

export interface QuotaUsageEntry {
  readonly quota: QuotaName;
  /** Null where nothing is counted: queries while that quota is unlimited. */
  readonly used: number | null;
  readonly limit: number;
  /** When the window ends (epoch ms); null for quotas without one. */
  readonly reset_at_ms: number | null;
}

export interface QuotaStats {
  readonly tenant: TenantQuotas;
  readonly usage: {
    readonly events_today: QuotaUsageEntry;
    readonly storage_bytes: QuotaUsageEntry;
    readonly queries_this_hour: QuotaUsageEntry;
    readonly api_keys: QuotaUsageEntry;
    readonly projections: QuotaUsageEntry;
    readonly pipelines: QuotaUsageEntry;
    readonly webhooks: QuotaUsageEntry;
  };
}

/** The change feed topic of migration 0007's triggers (channel `tessera_quotas`): a tenant id. */
export const QUOTAS_TOPIC = 'quotas';

export interface QuotaService extends EventQuotas {
  /** The tenant's effective quotas, read now. Throws 404 `tenant_not_found`. */
  get(tenantId: string): Promise<TenantQuotas>;
  /** Sets them explicitly, audited in the same transaction. Throws 404 `tenant_not_found`. */
  set(actor: AuditContext, tenantId: string, update: QuotaUpdate): Promise<TenantQuotas>;
  /** Back to the plan's preset, audited likewise. */
  followPlan(actor: AuditContext, tenantId: string): Promise<TenantQuotas>;
  stats(tenantId: string): Promise<QuotaStats>;
  /** One limit of the tenant (0: unlimited), from the node's cache. */
  limitOf(tenantId: string, quota: QuotaName): Promise<number>;
  /**
   * The tenant's plan, from the node's cache (emptied by the same changes as its
   * quotas); `unlimited` for a tenant that does not exist. A cached answer costs no promise.
   */
  planOf(tenantId: string): string | Promise<string>;
  /**
   * A change to the tenant's plan or quotas was made on this node outside this
   * service: announced on the change feed, so every cache of this process drops it.
   */
  forget(tenantId: string): void;
}

export interface QuotaServiceDeps {
  /** `changes`: the node's cache of tenants' quotas follows it. */
  readonly db: Pick<Database, 'kysely' | 'transaction' | 'changes'>;
  readonly audit: Pick<AuditLog, 'inTransaction'>;
  /** Live (unrevoked, unexpired) API keys of a tenant. */
  readonly countLiveApiKeys: (tenantId: string) => Promise<number>;
  /** Webhook endpoints of a tenant, enabled or not (the webhooks domain's count). */
  readonly countWebhooks: CountWebhooks;
  readonly now?: (() => number) | undefined;
  /** How long a node reuses a tenant's quotas when it hears of no change (default 10 s). */
  readonly cacheTtlMs?: number | undefined;
}

export function createQuotaService(deps: QuotaServiceDeps): QuotaService {
  const now = deps.now ?? Date.now;
  const store = createQuotaStore(deps.db, now);
  // Tenants whose query quota this node saw used up, by the hour and limit it was
  // refused at: a client that keeps asking is answered from memory, not the database.
  const exhausted = new Map<string, { hour: number; limit: number }>();
  // Tenants' effective quotas, so an append or a read costs no lookup of them.
  const cache = createInvalidatingCache<TenantQuotas>({
    ttlMs: deps.cacheTtlMs ?? 10_000,
    now,
    changes: deps.db.changes,
    topic: QUOTAS_TOPIC,
    // The triggers announce the tenant; without one, every tenant may have changed.
    staleAfter: (tenantId) => tenantId || undefined,
    onChange(change) {
      if (change !== EVERYTHING) exhausted.delete(change);
    },
  });

  const notFound = (id: string) =>
    new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);

  async function quotasOf(tenantId: string): Promise<Quotas> {
    const cached = cache.peek(tenantId);
    if (cached) return cached.quotas;
    // A tenant that does not exist has nothing to limit (no request can act in it).
    return (await cache.load(tenantId, () => store.load(tenantId)))?.quotas ?? PRESETS.unlimited;
  }

  async function get(tenantId: string): Promise<TenantQuotas> {
    const found = await store.load(tenantId);
    if (!found) throw notFound(tenantId);
    return found;
  }

  async function change(
    actor: AuditContext,
    tenantId: string,
    quotas: Quotas | undefined,
  ): Promise<TenantQuotas> {
    const changed = await deps.db.transaction(async (trx) => {
      const inTransaction = createQuotaStore({ kysely: trx }, now);
      if (!(await inTransaction.load(tenantId))) throw notFound(tenantId);
      if (quotas) await inTransaction.save(tenantId, quotas);
      else await inTransaction.remove(tenantId);
      const result = (await inTransaction.load(tenantId)) as TenantQuotas;
      await deps.audit.inTransaction(trx, actor, [
        {
          tenant_id: tenantId,
          action: 'quota.updated',
          target: `tenant:${tenantId}`,
          outcome: 'success',
          details: { source: result.source, quotas: result.quotas },
        },
      ]);
      return result;
    });
    // Other nodes hear of it from the database (the triggers' NOTIFY).
    deps.db.changes.publish(QUOTAS_TOPIC, tenantId);
    return changed;
  }

  return {
    get,
    set: (actor, tenantId, update) =>
      change(actor, tenantId, 'preset' in update ? PRESETS[update.preset] : update),
    followPlan: (actor, tenantId) => change(actor, tenantId, undefined),

    async stats(tenantId) {
      const tenant = await get(tenantId);
      const at = now();
      const day = windowStart(at, DAY_MS);
      const hour = windowStart(at, HOUR_MS);
      const [used, apiKeys, webhooks] = await Promise.all([
        store.usage(tenantId, day, hour),
        deps.countLiveApiKeys(tenantId),
        deps.countWebhooks(tenantId),
      ]);
      const { quotas } = tenant;
      const entry = (quota: QuotaName, value: number | null, reset: number | null) => ({
        quota,
        used: value,
        limit: quotas[quota],
        reset_at_ms: reset,
      });
      const queries = quotas.max_queries_per_hour > 0 ? used.queries_this_hour : null;
      return {
        tenant,
        usage: {
          events_today: entry('max_events_per_day', used.events_today, day + DAY_MS),
          storage_bytes: entry('max_storage_bytes', used.storage_bytes, null),
          queries_this_hour: entry('max_queries_per_hour', queries, hour + HOUR_MS),
          api_keys: entry('max_api_keys', apiKeys, null),
          // Neither exists yet: nothing to count, the limits wait for them.
          projections: entry('max_projections', 0, null),
          pipelines: entry('max_pipelines', 0, null),
          webhooks: entry('max_webhooks', webhooks, null),
        },
      };
    },

    limitOf: async (tenantId, quota) => (await quotasOf(tenantId))[quota],

    planOf(tenantId) {
      const cached = cache.peek(tenantId);
      if (cached) return cached.plan;
      return cache
        .load(tenantId, () => store.load(tenantId))
        .then((found) => found?.plan ?? 'unlimited');
    },

    forget(tenantId) {
      deps.db.changes.publish(QUOTAS_TOPIC, tenantId);
    },

    appendLimits(tenantId) {
      // The hot path: a cached answer costs no promise.
      return cache.peek(tenantId)?.quotas ?? quotasOf(tenantId);
    },

    async countQuery(tenantId) {
      const limit = (cache.peek(tenantId)?.quotas ?? (await quotasOf(tenantId)))
        .max_queries_per_hour;
      if (limit === 0) return;
      const hour = windowStart(now(), HOUR_MS);
      const refuse = () =>
        quotaExceeded(
          {
            tenant_id: tenantId,
            quota: 'max_queries_per_hour',
            limit,
            reset_at_ms: hour + HOUR_MS,
          },
          now(),
        );
      const seen = exhausted.get(tenantId);
      if (seen && seen.hour === hour && seen.limit === limit) throw refuse();
      const used = await store.countQuery(tenantId, hour, limit);
      if (used === undefined) {
        exhausted.set(tenantId, { hour, limit });
        throw refuse();
      }
      // The first query of an hour: earlier hours' counters are history nobody reads.
      if (used === 1) await store.pruneQueries(tenantId, hour);
    },

    appendRefused: (tenantId, refusal) =>
      quotaExceeded(
        {
          tenant_id: tenantId,
          quota: refusal.quota,
          limit: refusal.limit,
          used: refusal.used,
          reset_at_ms: refusal.reset_at_ms,
        },
        now(),
      ),
  };
}
