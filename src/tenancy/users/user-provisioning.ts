import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { User } from '../../identity/identity-port.ts';
import { checkPasswordPolicy, hashPassword } from '../../identity/login/passwords.ts';
import { normalizeEmail } from '../../identity/users/normalize-email.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { normalizeRoles, type RoleName, SYSTEM_TENANT_ID } from '../role-names.ts';
import { checkTenantId } from '../tenants/tenant-registry.ts';

export interface NewUserRequest {
  readonly email: string;
  readonly name?: string | undefined;
  readonly password: string;
  /** Tenant id → role names to grant there. */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
}

export interface UserProvisioningDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  readonly passwordMinLength: number;
  readonly now?: (() => number) | undefined;
}

/** An operator's creation of a user with roles in any tenants (`tessera user create`). */
export interface UserProvisioning {
  /**
   * Checks everything before writing, then creates the user and its memberships in one
   * transaction, so a bad tenant or a taken email leaves nothing behind. Throws 400
   * `invalid_email` / `weak_password` / `invalid_tenant` / `invalid_roles`, 409
   * `email_taken`, 404 `tenant_not_found`. Records `user.created` by `context` in each
   * tenant granted (`system` when none), last in the transaction.
   */
  create(context: AuditContext, request: NewUserRequest): Promise<User>;
}

export function createUserProvisioning(deps: UserProvisioningDeps): UserProvisioning {
  return {
    async create(context, request) {
      const email = normalizeEmail(request.email);
      const problems = checkPasswordPolicy(request.password, deps.passwordMinLength);
      if (problems.length > 0) {
        throw new TesseraError(
          IdentityErrors.weak_password,
          `the password ${problems.join('; ')}`,
          {
            errors: problems.map((message) => ({ path: '/password', message })),
          },
        );
      }
      const grants: [string, RoleName[]][] = Object.entries(request.grants ?? {}).map(
        ([tenantId, roles]) => {
          checkTenantId(tenantId);
          return [tenantId, normalizeRoles(roles)];
        },
      );
      const passwordHash = await hashPassword(request.password);
      return await deps.db.transaction(async (trx) => {
        const user = await createUserService({ kysely: trx }, deps.now).createUser({
          email,
          name: request.name,
          password_hash: passwordHash,
        });
        for (const [tenantId, roles] of grants) {
          await grantRoles(trx, tenantId, user.id, roles, deps.now);
        }
        const audited = grants.length > 0 ? grants : [[SYSTEM_TENANT_ID, []] as const];
        await deps.audit.inTransaction(
          trx,
          context,
          audited.map(([tenantId, roles]) => ({
            tenant_id: tenantId,
            action: 'user.created',
            target: `user:${user.id}`,
            outcome: 'success',
            details: { email: user.email, roles },
          })),
        );
        return user;
      });
    },
  };
}
