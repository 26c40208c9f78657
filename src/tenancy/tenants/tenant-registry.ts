import {
  type CredentialChanges,
  IGNORE_CREDENTIAL_CHANGES,
} from '../../identity/guard/credential-cache.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { Database } from '../../storage/open-database.ts';
import { TenancyErrors } from '../errors.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';
import {
  createTenantStore,
  type ListTenantsOptions,
  type NewTenant,
  type Tenant,
  type TenantStatus,
} from './tenant-store.ts';

/** Tenants with tenancy's rules and API errors; the store beneath speaks outcomes. */
export interface TenantRegistry {
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
}

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

/** The tenant name as stored (trimmed), or 400 `invalid_tenant`. */
export function checkTenantName(name: string): string {
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

function checkNotSystem(id: string, action: string): void {
  if (id === SYSTEM_TENANT_ID) {
    throw new TesseraError(
      TenancyErrors.tenant_protected,
      `the ${SYSTEM_TENANT_ID} tenant holds the platform administrators and cannot be ${action}`,
    );
  }
}

/** A tenant changed, or 404 `tenant_not_found` when none of that id is live. */
function found(tenant: Tenant | undefined, id: string): Tenant {
  if (!tenant) throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);
  return tenant;
}

/**
 * On `db`, which may be a transaction (`{ kysely: trx }`): then leave `changes` out and
 * tell them once it commits, as `setStatus` and `softDelete` tell `changes` at once.
 */
export function createTenantRegistry(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
): TenantRegistry {
  const store = createTenantStore(db, now);
  return {
    async create({ id, name, plan }) {
      checkTenantId(id);
      const inserted = await store.insert({
        id,
        name: checkTenantName(name),
        plan: checkPlan(plan),
      });
      if (!inserted.ok) {
        throw new TesseraError(TenancyErrors.tenant_exists, `a tenant ${id} exists already`);
      }
      return inserted.tenant;
    },

    get: (id, options) => store.get(id, options),
    list: (options) => store.list(options),

    async update(id, { name, plan }) {
      const set = {
        ...(name !== undefined && { name: checkTenantName(name) }),
        ...(plan !== undefined && { plan: checkPlan(plan) }),
      };
      return found(await store.change(id, set), id);
    },

    async setStatus(id, status) {
      if (status === 'suspended') checkNotSystem(id, 'suspended');
      const tenant = found(await store.change(id, { status }), id);
      changes.changed({ kind: 'tenant', id });
      return tenant;
    },

    async softDelete(id) {
      checkNotSystem(id, 'deleted');
      found(await store.change(id, { deleted_ms: now() }), id);
      changes.changed({ kind: 'tenant', id });
    },
  };
}
