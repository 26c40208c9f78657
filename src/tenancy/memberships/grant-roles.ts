import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import type { RoleName } from '../role-names.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { createMembershipStore } from './membership-store.ts';

/**
 * Makes the user a member of the tenant with exactly `roles` (replacing earlier ones)
 * inside `trx`, and returns them in canonical order: a grant by ids, with no actor's
 * say to weigh (an operator's `user create`, a new tenant's first admin, start-up).
 * Throws 400 `invalid_roles`, 404 `tenant_not_found` (deleted included) or 404
 * `user_not_found`. The caller tells the credential cache once `trx` commits.
 */
export async function grantRoles(
  trx: AnyKysely,
  tenantId: string,
  userId: string,
  roles: readonly string[],
  now: () => number = Date.now,
): Promise<RoleName[]> {
  // Built-in names cost no query; custom ones must exist in the tenant.
  const canonical = await createRolePolicy().normalize(trx, tenantId, roles);
  // Tenants are only soft-deleted and users erased only with their last membership,
  // and the foreign keys hold in any case, so checking first cannot let a bad row in.
  if (!(await createTenantStore({ kysely: trx }).get(tenantId))) {
    throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${tenantId}`);
  }
  if (!(await identityIn(trx).users.findById(userId))) {
    throw new TesseraError(IdentityErrors.user_not_found, `no user has the id ${userId}`);
  }
  await createMembershipStore({ kysely: trx }, now).put(tenantId, userId, canonical);
  return canonical;
}

/** Grants by ids, each in its own transaction (operators' tools and tests). */
export interface MembershipGrants {
  /** `grantRoles`, committed, then told to the credential cache. */
  grant(tenantId: string, userId: string, roles: readonly string[]): Promise<RoleName[]>;
}

export function createMembershipGrants(
  db: Pick<DatabaseBase, 'transaction'>,
  changes: CredentialChanges,
): MembershipGrants {
  return {
    async grant(tenantId, userId, roles) {
      const granted = await db.transaction((trx: AnyKysely) =>
        grantRoles(trx, tenantId, userId, roles),
      );
      changes.changed({ kind: 'user', id: userId });
      return granted;
    },
  };
}
