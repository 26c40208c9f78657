import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { checkPasswordPolicy, hashPassword } from '../../identity/login/passwords.ts';
import { normalizeEmail } from '../../identity/users/normalize-email.ts';
import { createUserService, type UserService } from '../../identity/users/user-service.ts';
import { isTesseraError, TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';
import { createTenantRegistry, type TenantRegistry } from './tenant-registry.ts';
import type { ListTenantsOptions, NewTenant, Tenant, TenantStatus } from './tenant-store.ts';

/** The first administrator of a new tenant: a new user, or an existing one by email. */
export interface TenantAdmin {
  readonly email: string;
  /** Required for a new user; an existing user's password is never replaced. */
  readonly password?: string | undefined;
}

/**
 * Tenant administration (platform administrators: the routes check). Every change
 * appends its audit events in its own transaction, as `context` (who, from where).
 */
export interface TenantService {
  /** Tenant and admin membership (and the user, if new) in one transaction. */
  create(context: AuditContext, tenant: NewTenant, admin?: TenantAdmin): Promise<Tenant>;
  /** Throws 404 `tenant_not_found` (deleted included). */
  get(id: string): Promise<Tenant>;
  list(options: ListTenantsOptions): Promise<Tenant[]>;
  update(
    context: AuditContext,
    id: string,
    changes: { name?: string | undefined; plan?: string | undefined },
  ): Promise<Tenant>;
  setStatus(context: AuditContext, id: string, status: TenantStatus): Promise<Tenant>;
  remove(context: AuditContext, id: string): Promise<void>;
}

export interface TenantServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly tenants: TenantRegistry;
  readonly users: Pick<UserService, 'findByEmail'>;
  readonly audit: AuditLog;
  /** Told of status changes and deletions once they commit (cached credentials). */
  readonly changes: CredentialChanges;
  /** `[auth] password_min_length`. */
  readonly passwordMinLength: number;
  /** This node's cached quotas of a tenant whose plan may have changed (others re-read it). */
  readonly quotas: { forget(tenantId: string): void };
}

/**
 * A tenant's change is recorded in its own trail, for its auditors, and in the
 * `system` tenant's, where the platform administrators' actions are reviewed.
 */
function tenantAudit(
  id: string,
  action: string,
  details: Record<string, unknown> = {},
): AuditEntry[] {
  const entry = { action, target: `tenant:${id}`, outcome: 'success' as const, details };
  return id === SYSTEM_TENANT_ID
    ? [{ ...entry, tenant_id: id }]
    : [
        { ...entry, tenant_id: id },
        { ...entry, tenant_id: SYSTEM_TENANT_ID },
      ];
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

  /** `write` on stores of one transaction, with its audit events last in it. */
  function audited<T>(
    context: AuditContext,
    write: (store: TenantRegistry, trx: AnyKysely) => Promise<T>,
    entries: (result: T) => AuditEntry[],
  ): Promise<T> {
    return db.transaction(async (trx: AnyKysely) => {
      const result = await write(createTenantRegistry({ kysely: trx }), trx);
      await deps.audit.inTransaction(trx, context, entries(result));
      return result;
    });
  }

  async function createWithAdmin(
    context: AuditContext,
    tenant: NewTenant,
    admin: TenantAdmin,
  ): Promise<Tenant> {
    const email = normalizeEmail(admin.email);
    // Hashed before the transaction (~25 ms of argon2) so its locks are held briefly;
    // users are never deleted, so one found here is still there inside it.
    const existing = await deps.users.findByEmail(email);
    const passwordHash = existing ? null : await hashPassword(checkPolicy(admin.password));
    const attempt = () =>
      audited(
        context,
        async (store, trx) => {
          const created = await store.create(tenant);
          const users = createUserService({ kysely: trx });
          // Found: someone registered meanwhile; their own password stays.
          const user =
            (await users.findByEmail(email)) ??
            (await users.createUser({ email, password_hash: passwordHash }));
          await grantRoles(trx, created.id, user.id, ['admin']);
          return { created, user };
        },
        ({ created, user }) => [
          ...tenantAudit(created.id, 'tenant.created', { name: created.name, plan: created.plan }),
          {
            tenant_id: created.id,
            action: 'user.added',
            target: `user:${user.id}`,
            outcome: 'success',
            details: { email: user.email, roles: ['admin'] },
          },
        ],
      ).then(({ created }) => created);
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
    create: (context, tenant, admin) =>
      admin
        ? createWithAdmin(context, tenant, admin)
        : audited(
            context,
            (store) => store.create(tenant),
            (created) =>
              tenantAudit(created.id, 'tenant.created', { name: created.name, plan: created.plan }),
          ),

    async get(id) {
      const tenant = await tenants.get(id);
      if (!tenant) {
        throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);
      }
      return tenant;
    },

    list: (options) => tenants.list(options),
    async update(context, id, changes) {
      const tenant = await audited(
        context,
        (store) => store.update(id, changes),
        () => tenantAudit(id, 'tenant.updated', changes),
      );
      // Its quotas may follow the plan; other nodes and processes hear of it from the database.
      deps.quotas.forget(id);
      return tenant;
    },
    async setStatus(context, id, status) {
      const tenant = await audited(
        context,
        (store) => store.setStatus(id, status),
        () => tenantAudit(id, status === 'active' ? 'tenant.activated' : 'tenant.suspended'),
      );
      deps.changes.changed({ kind: 'tenant', id });
      return tenant;
    },
    async remove(context, id) {
      await audited(
        context,
        (store) => store.softDelete(id),
        () => tenantAudit(id, 'tenant.deleted'),
      );
      deps.changes.changed({ kind: 'tenant', id });
    },
  };
}
