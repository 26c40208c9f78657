import type { Principal } from '../../access/principal.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { isPlatformAdmin } from '../tenants/tenant-access.ts';
import { createMembershipStore } from './membership-store.ts';

/**
 * Issue 15: a tenant administrator's power over an identity ends at its membership
 * in that tenant. What the identity carries into every tenant (name, email,
 * password, lockout, erasure) is changed only by its user, by a platform
 * administrator, or by the tenant's administrators while it belongs to that tenant
 * alone. `otherTenants`: the live tenants besides `principal.tenantId` it belongs to.
 * Throws 403 `identity_shared`; removing the membership stays allowed.
 */
export function checkOwnsIdentity(
  principal: Principal,
  otherTenants: readonly string[],
  what: string,
): void {
  if (isPlatformAdmin(principal) || otherTenants.length === 0) return;
  throw new TesseraError(
    IdentityErrors.identity_shared,
    `This user belongs to other tenants too, so ${what} is theirs or a platform administrator's to change; you can remove them from this tenant.`,
  );
}

/**
 * Nobody manages a member stronger than themselves: 403 `role_not_delegable` when
 * the member's roles in the caller's tenant grant something the caller's do not.
 * Platform administrators hold every permission; a non-member passes (nothing held).
 */
export async function checkManagesMember(
  trx: AnyKysely,
  principal: Principal,
  userId: string,
): Promise<void> {
  if (isPlatformAdmin(principal)) return;
  const roles = await createMembershipStore({ kysely: trx }).rolesOf(principal.tenantId, userId);
  await createRolePolicy().checkDelegable(trx, principal, principal.tenantId, roles ?? []);
}
