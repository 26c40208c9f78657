import type { Kysely } from 'kysely';
import {
  type CredentialChanges,
  IGNORE_CREDENTIAL_CHANGES,
} from '../../access/credential-cache.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import { TenancyErrors } from '../errors.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';

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

export interface TenantStore {
  /** Throws 409 `tenant_exists` (also for the id of a deleted tenant), 400 `invalid_tenant`. */
  create(tenant: NewTenant): Promise<Tenant>;
  get(id: string, options?: { include_deleted?: boolean }): Promise<Tenant | undefined>;
  /** By id; deleted tenants only when asked. */
  list(options: ListTenantsOptions): Promise<Tenant[]>;
  /** Throws 404 `tenant_not_found` (deleted included), 400 `invalid_tenant`. */
  update(id: string, changes: { name?: string; plan?: string }): Promise<Tenant>;
  /** Throws 404 `tenant_not_found`; suspending `system` is 409 `tenant_protected`. */
  setStatus(id: string, status: TenantStatus): Promise<Tenant>;
  /** Throws 404 `tenant_not_found` (already deleted included); `system` is 409 `tenant_protected`. */
  softDelete(id: string): Promise<void>;
  /**
   * Holds the tenant's row until the transaction ends (`db` must be one), so that
   * concurrent changes of something per tenant (its API keys, its IP filters) are
   * checked one after another. A write that changes nothing takes the row lock on
   * PostgreSQL (no trigger watches `updated_ms`); SQLite holds its one write lock anyway.
   */
  lockForWrites(id: string): Promise<void>;
}

type TenantTables = Pick<Tables, 'tenants'>;

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PLAN_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME_MAX_LENGTH = 200;

function invalid(path: string, message: string): TesseraError {
  return new TesseraError(TenancyErrors.invalid_tenant, `tenant ${path.slice(1)} ${message}`, {
    errors: [{ path, message }],
  });
}

export function checkTenantId(id: string): void {
  if (!TENANT_ID_PATTERN.test(id)) {
    throw invalid('/id', 'must be 1-63 of a-z, 0-9 and -, starting with a letter or digit');
  }
}

function checkName(name: string): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  // Control characters would corrupt log lines and terminal output of listings.
  if (length === 0 || length > NAME_MAX_LENGTH || /\p{Cc}/u.test(trimmed)) {
    throw invalid('/name', `must be 1-${NAME_MAX_LENGTH} characters without control characters`);
  }
  return trimmed;
}

function checkPlan(plan: string): string {
  if (!PLAN_PATTERN.test(plan)) {
    throw invalid('/plan', 'must be 1-63 of a-z, 0-9, _ and -, starting with a letter or digit');
  }
  return plan;
}

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

const notFound = (id: string) =>
  new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);

function checkNotSystem(id: string, action: string): void {
  if (id === SYSTEM_TENANT_ID) {
    throw new TesseraError(
      TenancyErrors.tenant_protected,
      `the ${SYSTEM_TENANT_ID} tenant holds the platform administrators and cannot be ${action}`,
    );
  }
}

/**
 * One Kysely store for both engines. `db` may be a transaction (`{ kysely: trx }`):
 * then leave `changes` out and tell them once it commits, as `setStatus` and
 * `softDelete` tell `changes` at once.
 */
export function createTenantStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
): TenantStore {
  const kysely: Kysely<TenantTables> = db.kysely;

  // Only rows not deleted change; RETURNING tells found from missing in one statement.
  async function change(id: string, set: Partial<Tenant>): Promise<Tenant> {
    const row = await kysely
      .updateTable('tenants')
      .set({ ...set, updated_ms: now() })
      .where('id', '=', id)
      .where('deleted_ms', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound(id);
    return toTenant(row);
  }

  return {
    async create({ id, name, plan }) {
      checkTenantId(id);
      const time = now();
      const row: Tenant = {
        id,
        name: checkName(name),
        plan: checkPlan(plan),
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
        throw new TesseraError(TenancyErrors.tenant_exists, `a tenant ${id} exists already`, {
          cause: error,
        });
      }
      return row;
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

    async update(id, { name, plan }) {
      return await change(id, {
        ...(name !== undefined && { name: checkName(name) }),
        ...(plan !== undefined && { plan: checkPlan(plan) }),
      });
    },

    async setStatus(id, status) {
      if (status === 'suspended') checkNotSystem(id, 'suspended');
      const tenant = await change(id, { status });
      changes.changed({ kind: 'tenant', id });
      return tenant;
    },

    async softDelete(id) {
      checkNotSystem(id, 'deleted');
      await change(id, { deleted_ms: now() });
      changes.changed({ kind: 'tenant', id });
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
