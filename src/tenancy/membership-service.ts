import type { CredentialChanges } from '../access/credential-cache.ts';
import { AccessErrors } from '../access/errors.ts';
import type { Principal } from '../access/principal.ts';
import { roleWithin } from '../access/roles.ts';
import { IdentityErrors } from '../identity/errors.ts';
import { createUserStore, type User } from '../identity/user-store.ts';
import { TesseraError } from '../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../storage/database.ts';
import { TenancyErrors as MembershipErrors, TenancyErrors } from './errors.ts';
import { createMembershipStore, type ListMembersOptions, type Member } from './membership-store.ts';
import { normalizeRoles, type RoleName } from './role-names.ts';
import { checkTenantAccess } from './tenant-access.ts';
import { createTenantStore } from './tenant-store.ts';

export interface MembershipService {
  list(principal: Principal, tenantId: string, options: ListMembersOptions): Promise<Member[]>;
  /** Makes the user of `email` a member with exactly `roles`. */
  put(
    principal: Principal,
    tenantId: string,
    email: string,
    roles: readonly string[],
  ): Promise<{ user: User; roles: RoleName[] }>;
  remove(principal: Principal, tenantId: string, userId: string): Promise<void>;
}

/**
 * No escalation through delegation: a caller may neither hand out nor take away a
 * role granting more than they hold themselves.
 */
function checkDelegable(principal: Principal, roles: readonly RoleName[]): void {
  const beyond = roles.find((role) => !roleWithin(role, principal.permissions));
  if (beyond !== undefined) {
    throw new TesseraError(
      AccessErrors.role_not_delegable,
      `Your roles do not grant everything the ${beyond} role does.`,
      { extensions: { role: beyond } },
    );
  }
}

/** Stores built on the transaction, so reads and the write see one state. */
function storesOn(trx: AnyKysely) {
  return {
    tenants: createTenantStore({ kysely: trx }),
    users: createUserStore({ kysely: trx }),
    memberships: createMembershipStore({ kysely: trx }),
  };
}

async function checkTenantExists(
  tenants: ReturnType<typeof createTenantStore>,
  id: string,
): Promise<void> {
  if (!(await tenants.get(id))) {
    throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);
  }
}

/** `changes` hears of every membership written, once its transaction committed. */
export function createMembershipService(
  db: Pick<DatabaseBase, 'transaction'>,
  changes: CredentialChanges,
): MembershipService {
  return {
    async list(principal, tenantId, options) {
      checkTenantAccess(principal, tenantId, 'members:manage');
      return await db.transaction(async (trx: AnyKysely) => {
        const { tenants, memberships } = storesOn(trx);
        await checkTenantExists(tenants, tenantId);
        return await memberships.listMembers(tenantId, options);
      });
    },

    async put(principal, tenantId, email, roles) {
      checkTenantAccess(principal, tenantId, 'members:manage');
      const wanted = normalizeRoles(roles);
      checkDelegable(principal, wanted);
      const granted = await db.transaction(async (trx: AnyKysely) => {
        const { tenants, users, memberships } = storesOn(trx);
        await checkTenantExists(tenants, tenantId);
        const user = await users.findByEmail(email);
        if (!user) {
          throw new TesseraError(IdentityErrors.user_not_found, `no user has the email ${email}`);
        }
        checkDelegable(principal, (await memberships.rolesOf(tenantId, user.id)) ?? []);
        return { user, roles: await memberships.grant(tenantId, user.id, wanted) };
      });
      changes.changed({ kind: 'user', id: granted.user.id });
      return granted;
    },

    async remove(principal, tenantId, userId) {
      checkTenantAccess(principal, tenantId, 'members:manage');
      await db.transaction(async (trx: AnyKysely) => {
        const { tenants, memberships } = storesOn(trx);
        await checkTenantExists(tenants, tenantId);
        const current = await memberships.rolesOf(tenantId, userId);
        if (current === undefined) {
          throw new TesseraError(
            MembershipErrors.membership_not_found,
            `user ${userId} is not a member of tenant ${tenantId}`,
          );
        }
        checkDelegable(principal, current);
        await memberships.revoke(tenantId, userId);
      });
      changes.changed({ kind: 'user', id: userId });
    },
  };
}
