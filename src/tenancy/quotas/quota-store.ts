import type { Kysely } from 'kysely';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import {
  presetForPlan,
  QUOTA_NAMES,
  type QuotaName,
  type Quotas,
  type TenantQuotas,
} from './quotas.ts';

type QuotaTables = Pick<Tables, 'tenants' | 'tenant_quotas' | 'quota_usage'>;

/** Counters of a tenant's current windows (0 where nothing was counted). */
export interface WindowUsage {
  readonly events_today: number;
  readonly storage_bytes: number;
  readonly queries_this_hour: number;
}

export interface QuotaStore {
  /** The tenant's effective quotas; undefined when it does not exist or is deleted. */
  load(tenantId: string): Promise<TenantQuotas | undefined>;
  /** Sets the tenant's quotas explicitly (the caller checked that it exists). */
  save(tenantId: string, quotas: Quotas): Promise<void>;
  /** Back to the plan's preset. */
  remove(tenantId: string): Promise<void>;
  usage(tenantId: string, dayStartMs: number, hourStartMs: number): Promise<WindowUsage>;
  /**
   * Adds one to the tenant's counter for the hour starting at `hourStartMs` unless it
   * already reached `limit`: one atomic statement, so concurrent callers on any node
   * never overshoot. The new count, or undefined when refused (nothing changed).
   */
  countQuery(tenantId: string, hourStartMs: number, limit: number): Promise<number | undefined>;
  /** Drops the tenant's query counters of hours before `hourStartMs`. */
  pruneQueries(tenantId: string, hourStartMs: number): Promise<void>;
}

const QUERIES = 'max_queries_per_hour';
const COUNTERS = ['max_events_per_day', 'max_storage_bytes', QUERIES] as const;

/**
 * One Kysely store for both engines. `db` may be a transaction (`{ kysely: trx }`),
 * as for `save` and `remove`, which commit with their audit event.
 */
export function createQuotaStore(db: Pick<Database, 'kysely'>, now = Date.now): QuotaStore {
  const kysely: Kysely<QuotaTables> = db.kysely;
  return {
    async load(tenantId) {
      const row = await kysely
        .selectFrom('tenants')
        .leftJoin('tenant_quotas', 'tenant_quotas.tenant_id', 'tenants.id')
        .select(['tenants.plan', 'tenant_quotas.updated_ms', ...QUOTA_NAMES])
        .where('tenants.id', '=', tenantId)
        .where('tenants.deleted_ms', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const explicit = row.updated_ms !== null;
      const quotas = explicit ? pickQuotas(row as Quotas) : presetForPlan(row.plan);
      return {
        tenant_id: tenantId,
        plan: row.plan,
        source: explicit ? 'explicit' : 'plan',
        quotas,
        updated_ms: row.updated_ms,
      };
    },

    async save(tenantId, quotas) {
      const values = { ...pickQuotas(quotas), updated_ms: now() };
      await kysely
        .insertInto('tenant_quotas')
        .values({ tenant_id: tenantId, ...values })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
        .execute();
    },

    async remove(tenantId) {
      await kysely.deleteFrom('tenant_quotas').where('tenant_id', '=', tenantId).execute();
    },

    async usage(tenantId, dayStartMs, hourStartMs) {
      const windows = {
        max_events_per_day: dayStartMs,
        max_storage_bytes: 0,
        [QUERIES]: hourStartMs,
      };
      const rows = await kysely
        .selectFrom('quota_usage')
        .select(['quota', 'window_start_ms', 'used'])
        .where('tenant_id', '=', tenantId)
        .where((eb) =>
          eb.or(
            COUNTERS.map((quota) =>
              eb.and([eb('quota', '=', quota), eb('window_start_ms', '=', windows[quota])]),
            ),
          ),
        )
        .execute();
      const used = (quota: string) => rows.find((row) => row.quota === quota)?.used ?? 0;
      return {
        events_today: used('max_events_per_day'),
        storage_bytes: used('max_storage_bytes'),
        queries_this_hour: used(QUERIES),
      };
    },

    async countQuery(tenantId, hourStartMs, limit) {
      const row = await kysely
        .insertInto('quota_usage')
        .values({ tenant_id: tenantId, quota: QUERIES, window_start_ms: hourStartMs, used: 1 })
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'quota', 'window_start_ms'])
            .doUpdateSet({ used: (eb) => eb('quota_usage.used', '+', 1) })
            .where('quota_usage.used', '<', limit),
        )
        .returning('used')
        .executeTakeFirst();
      return row?.used;
    },

    async pruneQueries(tenantId, hourStartMs) {
      await kysely
        .deleteFrom('quota_usage')
        .where('tenant_id', '=', tenantId)
        .where('quota', '=', QUERIES)
        .where('window_start_ms', '<', hourStartMs)
        .execute();
    },
  };
}

/** Exactly the seven quotas, whatever else the object carries. */
function pickQuotas(source: Quotas): Quotas {
  const quotas: Partial<Record<QuotaName, number>> = {};
  for (const name of QUOTA_NAMES) quotas[name] = Number(source[name]);
  return quotas as Quotas;
}
