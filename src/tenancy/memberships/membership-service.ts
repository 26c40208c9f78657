import type { Actor } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import type { User } from '../../identity/identity-port.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors as MembershipErrors, TenancyErrors } from '../errors.ts';
import type { InvitationDelivery } from '../invitations/invitation-email.ts';
import { type InvitedAnswer, inviteInTransaction } from '../invitations/invitation-service.ts';
import { createInvitationStore } from '../invitations/invitation-store.ts';
import type { RoleName } from '../role-names.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { checkTenantAccess, isPlatformAdmin } from '../tenants/tenant-access.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { createTenantUserReads } from '../users/tenant-user-reads.ts';
import { createUserAdminStore } from '../users/user-admin-store.ts';
import { grantRoles } from './grant-roles.ts';
import { keepAnAdmin } from './last-admin.ts';
import { createMembershipStore, type ListMembersOptions } from './membership-store.ts';

/**
 * `/tenants/{id}/members`: platform administrators on any tenant, `members:manage`
 * in one's own. The same rules as `/users` (no escalation, a tenant keeps an active
 * admin, a removed member's sessions end) and the same audit events.
 */
export interface MembershipService {
  list(principal: Principal, tenantId: string, options: ListMembersOptions): Promise<Member[]>;
  /**
   * Gives a member exactly `roles`. Someone not yet a member is added at once by a
   * platform administrator, and invited by anyone else (the same answer whether
   * the email belonged to an identity or not).
   */
  put(actor: Actor, tenantId: string, email: string, roles: readonly string[]): Promise<PutOutcome>;
  remove(actor: Actor, tenantId: string, userId: string): Promise<void>;
}

/** A member as the tenant's member list shows them: the membership and its identity. */
export interface Member {
  readonly user_id: string;
  readonly email: string;
  readonly name: string | null;
  readonly roles: RoleName[];
  readonly created_ms: number;
}

export type PutOutcome =
  | { readonly kind: 'member'; readonly user: User; readonly roles: RoleName[] }
  | { readonly kind: 'invited'; readonly answer: InvitedAnswer };

export interface MembershipServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'capabilities'>;
  /** Hears of every membership written, once its transaction committed. */
  readonly changes: CredentialChanges;
  readonly audit: AuditLog;
  /** How an invitation reaches its invitee (email, when configured) and how long it lasts. */
  readonly invitations: InvitationDelivery;
}

/**
 * No escalation through delegation: a caller may neither hand out nor take away a
 * role granting more than they hold themselves (built-in or the tenant's own).
 */
const policy = createRolePolicy();

/** Stores built on the transaction, so reads and the write see one state. */
function storesOn(trx: AnyKysely, rowLocks: boolean) {
  return {
    tenants: createTenantStore({ kysely: trx }),
    users: identityIn(trx).users,
    memberships: createMembershipStore({ kysely: trx }),
    members: createUserAdminStore({ kysely: trx }, { rowLocks }),
    reads: createTenantUserReads(trx, { rowLocks }),
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

export function createMembershipService(deps: MembershipServiceDeps): MembershipService {
  const { db, changes, audit, invitations } = deps;
  const rowLocks = db.capabilities.concurrentWriters;

  /** The tenant locked first: admin counts read stay true until commit (last-admin rule). */
  function change<T>(
    tenantId: string,
    fn: (trx: AnyKysely, stores: ReturnType<typeof storesOn>) => Promise<T>,
  ) {
    return db.transaction(async (trx: AnyKysely) => {
      const stores = storesOn(trx, rowLocks);
      await checkTenantExists(stores.tenants, tenantId);
      await stores.members.lockTenant(tenantId);
      return fn(trx, stores);
    });
  }

  return {
    async list(principal, tenantId, options) {
      checkTenantAccess(principal, tenantId, 'members:manage');
      return await db.transaction(async (trx: AnyKysely) => {
        const { tenants, memberships, users } = storesOn(trx, rowLocks);
        await checkTenantExists(tenants, tenantId);
        const page = await memberships.listMembers(tenantId, options);
        // Identities are identity's: one query for the page, in the memberships' order.
        const found = await users.findManyByIds(page.map((member) => member.user_id));
        const byId = new Map(found.map((user) => [user.id, user]));
        return page.flatMap(({ user_id, roles, created_ms }) => {
          const user = byId.get(user_id);
          return user ? [{ user_id, email: user.email, name: user.name, roles, created_ms }] : [];
        });
      });
    },

    async put(actor, tenantId, email, roles) {
      checkTenantAccess(actor.principal, tenantId, 'members:manage');
      const direct = isPlatformAdmin(actor.principal);
      const granted = await change(tenantId, async (trx, { users, members, reads }) => {
        const wanted = await policy.normalize(trx, tenantId, roles);
        await policy.checkDelegable(trx, actor.principal, tenantId, wanted);
        const user = await users.findByEmail(email);
        const current = user && (await reads.get(tenantId, user.id));
        if (!current && !direct) {
          const invited = await inviteInTransaction(
            trx,
            actor,
            {
              tenantId,
              email,
              roles: wanted,
              identity: { password_hash: null },
            },
            invitations,
          );
          await audit.inTransaction(trx, actor.audit, invited.entries);
          return { kind: 'invited' as const, answer: invited.answer };
        }
        if (!user) {
          throw new TesseraError(IdentityErrors.user_not_found, `no user has the email ${email}`);
        }
        if (current) {
          await policy.checkDelegable(trx, actor.principal, tenantId, current.roles);
          if (!wanted.includes('admin')) await keepAnAdmin(members, tenantId, current);
        }
        const result = { user, roles: await grantRoles(trx, tenantId, user.id, wanted) };
        await createInvitationStore(trx).discard(tenantId, user.id);
        const audited = current
          ? userEntry(tenantId, 'user.roles_changed', user.id, {
              from: current.roles,
              to: result.roles,
            })
          : userEntry(tenantId, 'user.added', user.id, { email: user.email, roles: result.roles });
        await audit.inTransaction(trx, actor.audit, [audited]);
        return { kind: 'member' as const, ...result };
      });
      if (granted.kind === 'member') changes.changed({ kind: 'user', id: granted.user.id });
      else invitations.mailer.flush();
      return granted;
    },

    async remove(actor, tenantId, userId) {
      checkTenantAccess(actor.principal, tenantId, 'members:manage');
      await change(tenantId, async (trx, { members, reads }) => {
        const current = await reads.get(tenantId, userId);
        if (current === undefined) {
          throw new TesseraError(
            MembershipErrors.membership_not_found,
            `user ${userId} is not a member of tenant ${tenantId}`,
          );
        }
        await policy.checkDelegable(trx, actor.principal, tenantId, current.roles);
        await keepAnAdmin(members, tenantId, current);
        const revoked = await identityIn(trx).sessions.revoke(tenantId, userId, {}, 'removed');
        await members.removeMembership(tenantId, userId);
        await audit.inTransaction(trx, actor.audit, [
          userEntry(tenantId, 'user.removed', userId, { sessions_revoked: revoked }),
        ]);
      });
      changes.changed({ kind: 'user', id: userId });
    },
  };
}
