import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { Permission } from '../../access/permissions.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { checkPasswordPolicy, hashPassword } from '../../identity/login/passwords.ts';
import { eraseIdentity } from '../../identity/users/erase-identity.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import { TenancyErrors } from '../errors.ts';
import type { InvitationDelivery } from '../invitations/invitation-email.ts';
import { type InvitedAnswer, inviteInTransaction } from '../invitations/invitation-service.ts';
import { createInvitationStore } from '../invitations/invitation-store.ts';
import { checkOwnsIdentity } from '../memberships/identity-owner.ts';
import { keepAnAdmin } from '../memberships/last-admin.ts';
import { isPlatformAdmin } from '../tenants/tenant-access.ts';
import { createTenantUserReads } from './tenant-user-reads.ts';
import {
  createUserAdminStore,
  type MemberStatus,
  type TenantUser,
  type UserAdminStore,
  type UserFilter,
} from './user-admin-store.ts';

export interface NewTenantUser {
  readonly email: string;
  readonly name: string;
  readonly roles: readonly string[];
  /** Used only when the email is new; an existing identity keeps its password. */
  readonly password?: string | undefined;
}

/** What `create` did: added the user directly, or invited them. */
export type CreateOutcome =
  | { readonly kind: 'added'; readonly user: TenantUser; readonly created: boolean }
  | { readonly kind: 'invited'; readonly answer: InvitedAnswer };

export interface UserAdminDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely' | 'capabilities'>;
  readonly audit: AuditLog;
  readonly changes: CredentialChanges;
  readonly roles: RolePolicy;
  readonly passwordMinLength: number;
  /** How an invitation reaches its invitee (email, when configured) and how long it lasts. */
  readonly invitations: InvitationDelivery;
}

/** What one change did: the audit entries it leaves and the user afterwards. */
interface Outcome {
  readonly entries: AuditEntry[];
  readonly user: TenantUser | undefined;
}

/** The route declares the permission; checked again so no other caller can skip it. */
function permittedTenant(actor: Actor, permission: Permission): string {
  if (!actor.principal.permissions.has(permission)) {
    throw new TesseraError(AccessErrors.permission_denied, `This needs ${permission}.`, {
      extensions: { permission },
    });
  }
  return actor.principal.tenantId;
}

function notFound(userId: string): TesseraError {
  // The same whether the user exists in another tenant or nowhere: tenants stay invisible.
  return new TesseraError(
    IdentityErrors.user_not_found,
    `no user of this tenant has the id ${userId}`,
  );
}

/** Users of the caller's tenant: one membership each, managed by its administrators. */
export function createUserAdminService(deps: UserAdminDeps) {
  const { db, audit, changes, roles } = deps;
  const rowLocks = db.capabilities.concurrentWriters;
  const storeOn = (kysely: AnyKysely) => createUserAdminStore({ kysely }, { rowLocks });
  const readsOn = (kysely: AnyKysely) => createTenantUserReads(kysely, { rowLocks });

  /**
   * One change to one member, atomic with its audit entries (appended last). The
   * tenant is locked first, so the member and admin counts read stay true until
   * commit; the credential cache hears of it after.
   */
  async function change(
    actor: Actor,
    userId: string,
    apply: (trx: AnyKysely, store: UserAdminStore, user: TenantUser) => Promise<Outcome>,
  ): Promise<TenantUser | undefined> {
    const tenantId = permittedTenant(actor, 'users:manage');
    const user = await db.transaction(async (trx: AnyKysely) => {
      const store = storeOn(trx);
      await store.lockTenant(tenantId);
      const current = await readsOn(trx).get(tenantId, userId);
      if (!current) throw notFound(userId);
      // Nobody manages a member whose roles grant more than they hold themselves.
      await roles.checkDelegable(trx, actor.principal, tenantId, current.roles);
      const outcome = await apply(trx, store, current);
      await audit.inTransaction(trx, actor.audit, outcome.entries);
      return outcome.user;
    });
    changes.changed({ kind: 'user', id: userId });
    return user;
  }

  /** Ends the member's live sessions in the tenant, in the caller's transaction. */
  const endSessions = (trx: AnyKysely, tenantId: string, userId: string, reason: string) =>
    identityIn(trx).sessions.revoke(tenantId, userId, {}, reason);

  async function setStatus(actor: Actor, userId: string, status: MemberStatus) {
    return change(actor, userId, async (trx, store, user) => {
      const tenantId = actor.principal.tenantId;
      if (user.status === status) return { entries: [], user };
      if (status === 'deactivated') await keepAnAdmin(store, tenantId, user);
      await store.setStatus(tenantId, userId, status);
      const revoked =
        status === 'deactivated' ? await endSessions(trx, tenantId, userId, 'deactivated') : [];
      const action = status === 'active' ? 'user.activated' : 'user.deactivated';
      const details = status === 'deactivated' ? { sessions_revoked: revoked } : {};
      return {
        entries: [userEntry(tenantId, action, userId, details)],
        user: { ...user, status },
      };
    });
  }

  async function hashIfGiven(password: string | undefined): Promise<string | null> {
    if (password === undefined) return null;
    const problems = checkPasswordPolicy(password, deps.passwordMinLength);
    if (problems.length > 0) {
      throw new TesseraError(IdentityErrors.weak_password, problems.join('; '), {
        errors: problems.map((message) => ({ path: '/password', message })),
      });
    }
    return hashPassword(password);
  }

  return {
    list(actor: Actor, filter: UserFilter): Promise<TenantUser[]> {
      return readsOn(db.kysely).list(permittedTenant(actor, 'users:read'), filter);
    },

    async get(actor: Actor, userId: string): Promise<TenantUser> {
      const user = await readsOn(db.kysely).get(permittedTenant(actor, 'users:read'), userId);
      if (!user) throw notFound(userId);
      return user;
    },

    /**
     * A platform administrator (power over every identity) adds directly: a new
     * identity, or the existing one of that email (`created` says which). Anyone else
     * invites (`invited`): the same answer whether the email was known, the identity
     * is created (with `password`) only when it was not, and its owner accepts.
     */
    async create(actor: Actor, input: NewTenantUser): Promise<CreateOutcome> {
      const tenantId = permittedTenant(actor, 'users:manage');
      // Hashed before the transaction: argon2 takes tens of milliseconds, locks should
      // not; and hashed whether or not the email is known, so both take as long.
      const passwordHash = await hashIfGiven(input.password);
      const direct = isPlatformAdmin(actor.principal);
      const result = await db.transaction(async (trx: AnyKysely): Promise<CreateOutcome> => {
        const store = storeOn(trx);
        await store.lockTenant(tenantId);
        const wanted = await roles.normalize(trx, tenantId, input.roles);
        await roles.checkDelegable(trx, actor.principal, tenantId, wanted);
        const users = createUserService({ kysely: trx });
        const existing = await users.findByEmail(input.email);
        if (existing && (await store.getMembership(tenantId, existing.id)))
          throw alreadyMember(existing.email);
        if (!direct) {
          const invited = await inviteInTransaction(
            trx,
            actor,
            {
              tenantId,
              email: input.email,
              roles: wanted,
              identity: { name: input.name, password_hash: passwordHash },
            },
            deps.invitations,
          );
          await audit.inTransaction(trx, actor.audit, invited.entries);
          return { kind: 'invited', answer: invited.answer };
        }
        const identity =
          existing ??
          (await users.createUser({
            email: input.email,
            name: input.name,
            password_hash: passwordHash,
          }));
        await addMembership(store, tenantId, identity.id, identity.email, wanted);
        await createInvitationStore(trx).discard(tenantId, identity.id);
        const action = existing ? 'user.added' : 'user.created';
        const details = { email: identity.email, roles: wanted };
        await audit.inTransaction(trx, actor.audit, [
          userEntry(tenantId, action, identity.id, details),
        ]);
        const user = (await readsOn(trx).get(tenantId, identity.id)) as TenantUser;
        return { kind: 'added', user, created: !existing };
      });
      if (result.kind === 'added') changes.changed({ kind: 'user', id: result.user.id });
      else deps.invitations.mailer.flush();
      return result;
    },

    async update(actor: Actor, userId: string, patch: { name: string }): Promise<TenantUser> {
      const user = await change(actor, userId, async (trx, store, current) => {
        const name = patch.name.trim() || null;
        if (name === current.name) return { entries: [], user: current };
        const tenantId = actor.principal.tenantId;
        checkOwnsIdentity(
          actor.principal,
          await store.otherTenantsOf(userId, tenantId),
          'the name',
        );
        // The name is the identity's, shown in every tenant the user belongs to.
        await identityIn(trx).users.setName(userId, name);
        return {
          entries: [userEntry(tenantId, 'user.updated', userId, { name })],
          user: { ...current, name },
        };
      });
      return user as TenantUser;
    },

    async setRoles(actor: Actor, userId: string, wanted: readonly string[]): Promise<TenantUser> {
      const user = await change(actor, userId, async (trx, store, current) => {
        const tenantId = actor.principal.tenantId;
        const next = await roles.normalize(trx, tenantId, wanted);
        await roles.checkDelegable(trx, actor.principal, tenantId, next);
        if (JSON.stringify(next) === JSON.stringify(current.roles))
          return { entries: [], user: current };
        if (!next.includes('admin')) await keepAnAdmin(store, tenantId, current);
        await store.setRoles(tenantId, userId, next);
        const details = { from: current.roles, to: next };
        return {
          entries: [userEntry(tenantId, 'user.roles_changed', userId, details)],
          user: { ...current, roles: next },
        };
      });
      return user as TenantUser;
    },

    deactivate: (actor: Actor, userId: string) =>
      setStatus(actor, userId, 'deactivated') as Promise<TenantUser>,
    activate: (actor: Actor, userId: string) =>
      setStatus(actor, userId, 'active') as Promise<TenantUser>,

    /** Removes the membership; the identity is erased when it has no other left. */
    async remove(actor: Actor, userId: string): Promise<{ erased: boolean }> {
      let erased = false;
      await change(actor, userId, async (trx, store, user) => {
        const tenantId = actor.principal.tenantId;
        await keepAnAdmin(store, tenantId, user);
        const revoked = await endSessions(trx, tenantId, userId, 'removed');
        await store.removeMembership(tenantId, userId);
        const entries = [
          userEntry(tenantId, 'user.removed', userId, { sessions_revoked: revoked }),
        ];
        if (!(await store.hasAnyMembership(userId))) {
          const keysRevoked = await eraseUser(trx, store, userId);
          erased = true;
          entries.push(
            userEntry(tenantId, 'user.erased', userId, { api_keys_revoked: keysRevoked }),
          );
        }
        return { entries, user: undefined };
      });
      return { erased };
    },
  };
}

export type UserAdminService = ReturnType<typeof createUserAdminService>;

/**
 * Erases an identity that belongs to no tenant any more: its leftover team places, the
 * API keys it created (a key is capped by its creator's roles, issue 15, and an erased
 * creator holds none: revoked), then the identity itself, so no foreign key is left
 * dangling. Returns how many keys were revoked.
 */
async function eraseUser(trx: AnyKysely, store: UserAdminStore, userId: string): Promise<number> {
  await store.removeFromAllTeams(userId);
  const revoked = await identityIn(trx).apiKeys.revokeCreatedBy(userId);
  await eraseIdentity(trx, userId);
  return revoked;
}

function alreadyMember(email: string): TesseraError {
  return new TesseraError(
    TenancyErrors.member_exists,
    `${email} is already a member of this tenant`,
  );
}

/** The primary key decides a race with another writer (PUT /tenants/{id}/members). */
async function addMembership(
  store: UserAdminStore,
  tenantId: string,
  userId: string,
  email: string,
  roles: readonly string[],
): Promise<void> {
  try {
    await store.addMembership(tenantId, userId, roles);
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyMember(email);
    throw error;
  }
}
