import { IdentityErrors } from '../identity/errors.ts';
import { checkPasswordPolicy, hashPassword } from '../identity/passwords.ts';
import { createUserStore, normalizeEmail, type UserStore } from '../identity/user-store.ts';
import { isTesseraError, TesseraError } from '../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../storage/database.ts';
import { TenancyErrors } from './errors.ts';
import { createMembershipStore } from './membership-store.ts';
import {
  createTenantStore,
  type ListTenantsOptions,
  type NewTenant,
  type Tenant,
  type TenantStatus,
  type TenantStore,
} from './tenant-store.ts';

/** The first administrator of a new tenant: a new user, or an existing one by email. */
export interface TenantAdmin {
  readonly email: string;
  /** Required for a new user; an existing user's password is never replaced. */
  readonly password?: string | undefined;
}

export interface TenantService {
  /** Tenant and admin membership (and the user, if new) in one transaction. */
  create(tenant: NewTenant, admin?: TenantAdmin): Promise<Tenant>;
  /** Throws 404 `tenant_not_found` (deleted included). */
  get(id: string): Promise<Tenant>;
  list(options: ListTenantsOptions): Promise<Tenant[]>;
  update(
    id: string,
    changes: { name?: string | undefined; plan?: string | undefined },
  ): Promise<Tenant>;
  setStatus(id: string, status: TenantStatus): Promise<Tenant>;
  remove(id: string): Promise<void>;
}

export interface TenantServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly tenants: TenantStore;
  readonly users: Pick<UserStore, 'findByEmail'>;
  /** `[auth] password_min_length`. */
  readonly passwordMinLength: number;
}

export function createTenantService(deps: TenantServiceDeps): TenantService {
  const { db, tenants } = deps;

  function checkPolicy(password: string | undefined): string {
    const problems =
      password === undefined
        ? ['is required to create a new user']
        : checkPasswordPolicy(password, deps.passwordMinLength);
    if (password === undefined || problems.length > 0) {
      throw new TesseraError(
        IdentityErrors.weak_password,
        `admin password ${problems.join('; ')}`,
        {
          errors: problems.map((message) => ({ path: '/admin/password', message })),
        },
      );
    }
    return password;
  }

  async function createWithAdmin(tenant: NewTenant, admin: TenantAdmin): Promise<Tenant> {
    const email = normalizeEmail(admin.email);
    // Hashed before the transaction (~25 ms of argon2) so its locks are held briefly;
    // users are never deleted, so one found here is still there inside it.
    const existing = await deps.users.findByEmail(email);
    const passwordHash = existing ? null : await hashPassword(checkPolicy(admin.password));
    const attempt = () =>
      db.transaction(async (trx: AnyKysely) => {
        const created = await createTenantStore({ kysely: trx }).create(tenant);
        const users = createUserStore({ kysely: trx });
        // Found: someone registered meanwhile; their own password stays.
        const user =
          (await users.findByEmail(email)) ??
          (await users.createUser({ email, password_hash: passwordHash }));
        await createMembershipStore({ kysely: trx }).grant(created.id, user.id, ['admin']);
        return created;
      });
    try {
      return await attempt();
    } catch (error) {
      // A concurrent sign-up took the email between our read and insert: the retry finds it.
      if (isTesseraError(error) && error.code === IdentityErrors.email_taken)
        return await attempt();
      throw error;
    }
  }

  return {
    create: (tenant, admin) => (admin ? createWithAdmin(tenant, admin) : tenants.create(tenant)),

    async get(id) {
      const tenant = await tenants.get(id);
      if (!tenant) {
        throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);
      }
      return tenant;
    },

    list: (options) => tenants.list(options),
    update: (id, changes) => tenants.update(id, changes),
    setStatus: (id, status) => tenants.setStatus(id, status),
    remove: (id) => tenants.softDelete(id),
  };
}
