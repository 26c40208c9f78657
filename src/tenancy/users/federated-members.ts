import type { AuditEntry } from '../../audit/audit-entry.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import { identityIn, type User } from '../../identity/identity-port.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import type { AnyKysely, Capabilities } from '../../storage/database.ts';
import { createTeamStore } from '../teams/team-store.ts';
import { createUserAdminStore } from './user-admin-store.ts';

/** A person an identity provider vouched for, to be admitted to one tenant. */
export interface FederatedPerson {
  readonly tenantId: string;
  /** The account this IdP subject was linked to before; undefined on a first sign-in. */
  readonly linkedUserId: string | undefined;
  /** Normalized address, or undefined when the IdP sent none. */
  readonly email: string | undefined;
  /** The IdP vouches for the address (and, for SAML, the connection is trusted). */
  readonly emailVerified: boolean;
  readonly name: string | undefined;
  /** Create the account and membership when missing (just in time). */
  readonly jit: boolean;
  /** The roles the mapping gives, normalized in the tenant already. */
  readonly roles: readonly string[];
  /** Every team the connection's mapping names: membership of these follows the IdP. */
  readonly managedTeams: readonly string[];
  /** Of those, the teams the person belongs in now. */
  readonly teams: readonly string[];
  /** Break-glass administrators: their roles and teams are never changed by an IdP. */
  readonly untouchable: readonly string[];
}

/** Why a person cannot be admitted; the sso domain picks the API error. */
export type AdmissionRefusal =
  | 'email_missing'
  | 'email_not_verified'
  | 'account_shared'
  | 'not_provisioned'
  | 'user_disabled'
  | 'membership_deactivated'
  | 'tenant_suspended';

export type FederatedAdmission =
  | {
      readonly ok: true;
      readonly user: User;
      /** The member's roles after this sign-in. */
      readonly roles: readonly string[];
      /** The account was created now. */
      readonly created: boolean;
      /** An account that existed was linked to the IdP subject now. */
      readonly linked: boolean;
      readonly entries: AuditEntry[];
    }
  | { readonly ok: false; readonly reason: AdmissionRefusal };

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value) => b.includes(value));

/**
 * Tenancy's side of a single sign-on (issue 20): the account, the membership, its roles
 * and mapped teams, in the sign-in's transaction. The rules that keep one tenant's IdP
 * from reaching further than its tenant live here, beside the memberships they guard:
 *
 * - An existing account is linked only by an address the IdP vouches for, and only when
 *   it belongs to no other live tenant: an account shared by several tenants belongs to
 *   none of their administrators alone, and a tenant's IdP is its administrators' tool
 *   (it could otherwise add a passkey to the account and walk into the other tenants).
 * - A deactivated membership stays deactivated: an administrator decided it, or
 *   deprovisioning did; an IdP sign-in does not undo either.
 * - The last active admin keeps the admin role whatever the mapping says, and
 *   break-glass administrators keep everything.
 */
export function createFederatedMembers(capabilities: Capabilities, now: () => number = Date.now) {
  return {
    async admit(trx: AnyKysely, person: FederatedPerson): Promise<FederatedAdmission> {
      const identity = identityIn(trx);
      const store = createUserAdminStore(
        { kysely: trx },
        {
          rowLocks: capabilities.concurrentWriters,
          now,
        },
      );
      // First: a suspended tenant admits nobody, and makes no account on the way.
      if ((await store.lockTenant(person.tenantId)) !== 'active') {
        return { ok: false, reason: 'tenant_suspended' };
      }
      const entries: AuditEntry[] = [];
      let user = person.linkedUserId && (await identity.users.findById(person.linkedUserId));
      let created = false;
      let linked = false;
      if (!user) {
        if (person.email === undefined) return { ok: false, reason: 'email_missing' };
        const existing = await identity.users.findByEmail(person.email);
        if (existing) {
          if (!person.emailVerified) return { ok: false, reason: 'email_not_verified' };
          if ((await store.otherTenantsOf(existing.id, person.tenantId)).length > 0) {
            return { ok: false, reason: 'account_shared' };
          }
          user = existing;
          linked = true;
        } else {
          if (!person.jit) return { ok: false, reason: 'not_provisioned' };
          user = await createAccount(trx, person);
          created = true;
        }
      }
      if (user.status !== 'active') return { ok: false, reason: 'user_disabled' };

      const membership = await store.getMembership(person.tenantId, user.id);
      if (membership?.status === 'deactivated') {
        return { ok: false, reason: 'membership_deactivated' };
      }
      let roles: readonly string[] = membership?.roles ?? [];
      const untouchable = person.untouchable.includes(user.id);
      if (!membership) {
        if (!person.jit) return { ok: false, reason: 'not_provisioned' };
        await store.addMembership(person.tenantId, user.id, person.roles);
        roles = person.roles;
        // The actions an administrator's adding of a member records, marked `via`.
        entries.push(
          created
            ? userEntry(person.tenantId, 'user.created', user.id, {
                email: user.email,
                roles,
                via: 'sso',
              })
            : userEntry(person.tenantId, 'user.added', user.id, { roles, via: 'sso' }),
        );
      } else if (!untouchable && !sameSet(membership.roles, person.roles)) {
        roles = await keepLastAdmin(
          store,
          person.tenantId,
          user.id,
          membership.roles,
          person.roles,
        );
        if (!sameSet(membership.roles, roles)) {
          await store.setRoles(person.tenantId, user.id, roles);
          entries.push(
            userEntry(person.tenantId, 'user.roles_changed', user.id, {
              from: membership.roles,
              to: roles,
              via: 'sso',
            }),
          );
        }
      }
      if (!untouchable) {
        const moved = await placeInTeams(trx, capabilities, person, user.id, now);
        const teamEntry = (action: string, teamId: string): AuditEntry => ({
          tenant_id: person.tenantId,
          action,
          target: `team:${teamId}`,
          outcome: 'success',
          details: { user_id: user.id, via: 'sso' },
        });
        entries.push(
          ...moved.added.map((teamId) => teamEntry('team.member_added', teamId)),
          ...moved.removed.map((teamId) => teamEntry('team.member_removed', teamId)),
        );
      }
      return { ok: true, user, roles, created, linked, entries };
    },

    /**
     * Deactivates an active member who no longer signs in at the tenant's IdP (SSO
     * deprovisioning), ending their sessions in the tenant; the tenant's last active
     * admin is kept. Returns the audit entries; none when nothing changed.
     */
    /** Of `userIds`, the active members of the tenant: who deprovisioning may still judge. */
    activeAmong(on: AnyKysely, tenantId: string, userIds: readonly string[]) {
      return createUserAdminStore({ kysely: on }, { rowLocks: false, now }).activeAmong(
        tenantId,
        userIds,
      );
    },

    async deactivateIdle(
      trx: AnyKysely,
      tenantId: string,
      userId: string,
      idleDays: number,
    ): Promise<AuditEntry[]> {
      const store = createUserAdminStore(
        { kysely: trx },
        {
          rowLocks: capabilities.concurrentWriters,
          now,
        },
      );
      await store.lockTenant(tenantId);
      const membership = await store.getMembership(tenantId, userId);
      if (membership?.status !== 'active') return [];
      if (
        membership.roles.includes('admin') &&
        (await store.otherActiveAdmins(tenantId, userId)) === 0
      ) {
        return [];
      }
      await store.setStatus(tenantId, userId, 'deactivated');
      const revoked = await identityIn(trx).sessions.revoke(tenantId, userId, {}, 'deprovisioned');
      return [
        userEntry(tenantId, 'user.deactivated', userId, {
          sessions_revoked: revoked,
          via: 'sso_deprovisioning',
          idle_days: idleDays,
        }),
      ];
    },
  };
}

export type FederatedMembers = ReturnType<typeof createFederatedMembers>;

/** An account with no password, its address verified when the IdP vouches for it. */
async function createAccount(trx: AnyKysely, person: FederatedPerson): Promise<User> {
  const users = createUserService({ kysely: trx });
  // Two first sign-ins of one person at once: the unique index lets one create it and
  // the other's transaction fails with email_taken; the sso domain retries that once.
  const user = await users.createUser({ email: person.email as string, name: person.name });
  if (person.emailVerified && (await users.markEmailVerified(user.id, user.email))) {
    return { ...user, email_verified: true };
  }
  return user;
}

/** The mapping's roles, except that the tenant's last active admin stays admin. */
async function keepLastAdmin(
  store: ReturnType<typeof createUserAdminStore>,
  tenantId: string,
  userId: string,
  before: readonly string[],
  after: readonly string[],
): Promise<readonly string[]> {
  if (!before.includes('admin') || after.includes('admin')) return after;
  if ((await store.otherActiveAdmins(tenantId, userId)) > 0) return after;
  return [...after, 'admin'];
}

async function placeInTeams(
  trx: AnyKysely,
  capabilities: Capabilities,
  person: FederatedPerson,
  userId: string,
  now: () => number,
): Promise<{ added: string[]; removed: string[] }> {
  const teams = createTeamStore({ kysely: trx, capabilities }, now);
  const added: string[] = [];
  const removed: string[] = [];
  for (const teamId of person.managedTeams) {
    // A team deleted since the mapping named it is skipped, not an error at sign-in.
    if (!(await teams.find(person.tenantId, teamId))) continue;
    if (person.teams.includes(teamId)) {
      if (await teams.addMember(person.tenantId, teamId, userId)) added.push(teamId);
    } else if (await teams.removeMember(person.tenantId, teamId, userId)) {
      removed.push(teamId);
    }
  }
  return { added, removed };
}

/** The ids among `teamIds` that name no team of the tenant (a mapping must name real ones). */
export async function missingTeams(
  on: AnyKysely,
  capabilities: Capabilities,
  tenantId: string,
  teamIds: readonly string[],
): Promise<string[]> {
  const teams = createTeamStore({ kysely: on, capabilities });
  const missing: string[] = [];
  for (const id of new Set(teamIds)) {
    if (!(await teams.find(tenantId, id))) missing.push(id);
  }
  return missing;
}
