import type { Kysely } from 'kysely';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';

export type TenantStatus = 'active' | 'suspended';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly status: TenantStatus;
  readonly created_ms: number;
  readonly updated_ms: number;
  /** Set once soft-deleted; the id stays taken for ever so old tokens and audit entries never point at a new tenant. */
  readonly deleted_ms: number | null;
}

export interface NewTenant {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
}

export interface ListTenantsOptions {
  /** Id cursor: the last id of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
  readonly include_deleted?: boolean | undefined;
}

/** What an insert did: the tenant, or nothing because the id is taken (deleted tenants' too). */
export type InsertTenantOutcome =
  | { readonly ok: true; readonly tenant: Tenant }
  | { readonly ok: false; readonly reason: 'tenant_exists' };

export interface TenantStore {
  /** A new active tenant, as given: the rules are tenant-registry.ts's. */
  insert(tenant: NewTenant): Promise<InsertTenantOutcome>;
  get(id: string, options?: { include_deleted?: boolean }): Promise<Tenant | undefined>;
  /** By id; deleted tenants only when asked. */
  list(options: ListTenantsOptions): Promise<Tenant[]>;
  /** Changes a tenant that is not deleted; undefined when there is none of that id. */
  change(
    id: string,
    set: Partial<Pick<Tenant, 'name' | 'plan' | 'status' | 'deleted_ms'>>,
  ): Promise<Tenant | undefined>;
  /**
   * Holds the tenant's row until the transaction ends (`db` must be one), so that
   * concurrent changes of something per tenant (its API keys, its IP filters) are
   * checked one after another. A write that changes nothing takes the row lock on
   * PostgreSQL (no trigger watches `updated_ms`); SQLite holds its one write lock anyway.
   */
  lockForWrites(id: string): Promise<void>;
}

type TenantTables = Pick<Tables, 'tenants'>;

// Explicit fields: plain objects on both engines (node:sqlite rows have no prototype).
const toTenant = (row: Tenant): Tenant => ({
  id: row.id,
  name: row.name,
  plan: row.plan,
  status: row.status,
  created_ms: row.created_ms,
  updated_ms: row.updated_ms,
  deleted_ms: row.deleted_ms,
});

/** One Kysely store for both engines. `db` may be a transaction (`{ kysely: trx }`). */
export function createTenantStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
): TenantStore {
  const kysely: Kysely<TenantTables> = db.kysely;

  return {
    async insert({ id, name, plan }) {
      const time = now();
      const row: Tenant = {
        id,
        name,
        plan,
        status: 'active',
        created_ms: time,
        updated_ms: time,
        deleted_ms: null,
      };
      try {
        // Soft-deleted rows stay, so the primary key also refuses a deleted tenant's id.
        await kysely.insertInto('tenants').values(row).execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { ok: false, reason: 'tenant_exists' };
      }
      return { ok: true, tenant: row };
    },

    async get(id, options = {}) {
      let query = kysely.selectFrom('tenants').selectAll().where('id', '=', id);
      if (!options.include_deleted) query = query.where('deleted_ms', 'is', null);
      const row = await query.executeTakeFirst();
      return row && toTenant(row);
    },

    async list({ after, limit, include_deleted }) {
      let query = kysely.selectFrom('tenants').selectAll();
      if (after !== undefined) query = query.where('id', '>', after);
      if (!include_deleted) query = query.where('deleted_ms', 'is', null);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(toTenant);
    },

    // Only rows not deleted change; RETURNING tells found from missing in one statement.
    async change(id, set) {
      const row = await kysely
        .updateTable('tenants')
        .set({ ...set, updated_ms: now() })
        .where('id', '=', id)
        .where('deleted_ms', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row && toTenant(row);
    },

    async lockForWrites(id) {
      await kysely
        .updateTable('tenants')
        .set((eb) => ({ updated_ms: eb.ref('updated_ms') }))
        .where('id', '=', id)
        .execute();
    },
  };
}
