import type { Expression, Kysely } from 'kysely';
import {
  type CredentialChanges,
  IGNORE_CREDENTIAL_CHANGES,
} from '../../identity/guard/credential-cache.ts';
import type { MemberStanding } from '../../identity/tenancy-port.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { parseRoles, parseStoredRoles, type RoleName } from '../role-names.ts';

/** A membership as a tenant's member list shows it; the identity is identity's. */
export interface MemberRecord {
  readonly user_id: string;
  readonly roles: RoleName[];
  readonly created_ms: number;
}

/** One tenant of a user, with the tenant's state (for sign-in and for audit trails). */
export interface UserMembership {
  readonly tenant_id: string;
  readonly roles: RoleName[];
  readonly tenant_status: 'active' | 'suspended';
  readonly tenant_deleted: boolean;
  /** A deactivated membership cannot log in (issue 5). */
  readonly membership_status: 'active' | 'deactivated';
}

export interface ListMembersOptions {
  /** User id cursor: the last user id of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

export interface MembershipStore {
  /**
   * Makes the user a member with exactly these roles, as given (replacing earlier
   * ones; a new membership is active). The rules come first: grant-roles.ts.
   */
  put(tenantId: string, userId: string, roles: readonly string[]): Promise<void>;
  /** True when a membership was removed. */
  revoke(tenantId: string, userId: string): Promise<boolean>;
  /** The user's roles in a tenant; undefined when not a member or the tenant is deleted. */
  rolesOf(tenantId: string, userId: string): Promise<RoleName[] | undefined>;
  /** A page of the tenant's memberships by user id. */
  listMembers(tenantId: string, options: ListMembersOptions): Promise<MemberRecord[]>;
  /** Whether any member holds `role`, e.g. whether the platform has an administrator. */
  hasMemberWithRole(tenantId: string, role: RoleName): Promise<boolean>;
  /** How many memberships of the tenant name `role` (any membership state). */
  countWithRole(tenantId: string, role: string): Promise<number>;
  /** The user's roles in the tenant as stored (any name, any state); undefined when no member. */
  storedRoles(tenantId: string, userId: string): Promise<string[] | undefined>;
  /** Every tenant the user belongs to, deleted and suspended ones flagged, by tenant id. */
  listOfUser(userId: string): Promise<UserMembership[]>;
  /**
   * The tenant's state and the user's membership there (none for a null user), in one
   * read; undefined when no tenant has the id.
   */
  standing(tenantId: string, userId: string | null): Promise<MemberStanding | undefined>;
  /**
   * A subquery of the ids of the tenant's members (any state), for another domain's
   * paged listing to filter on (`user_id IN (...)`) without reading memberships itself.
   */
  memberIds(tenantId: string): Expression<{ user_id: string }>;
  /** Like `memberIds`, active members only: whom the tenant's MFA statistics count. */
  activeMemberIds(tenantId: string): Expression<{ user_id: string }>;
  /** How many active members the tenant has. */
  countActive(tenantId: string): Promise<number>;
  /** Up to `limit` active members holding `role`, by user id: whom a tenant-wide notice goes to. */
  activeWithRole(tenantId: string, role: RoleName, limit: number): Promise<string[]>;
}

type MembershipTables = Pick<Tables, 'memberships' | 'tenants'>;

/**
 * One Kysely store for both engines. `db` may be a transaction (`{ kysely: trx }`):
 * then leave `changes` out and tell them once it commits, as writes here tell
 * `changes` at once.
 */
export function createMembershipStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
): MembershipStore {
  const kysely: Kysely<MembershipTables> = db.kysely;

  return {
    async put(tenantId, userId, roles) {
      const json = JSON.stringify(roles);
      await kysely
        .insertInto('memberships')
        .values({ tenant_id: tenantId, user_id: userId, roles: json, created_ms: now() })
        .onConflict((conflict) =>
          conflict.columns(['tenant_id', 'user_id']).doUpdateSet({ roles: json }),
        )
        .execute();
      changes.changed({ kind: 'user', id: userId });
    },

    async revoke(tenantId, userId) {
      const result = await kysely
        .deleteFrom('memberships')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      changes.changed({ kind: 'user', id: userId });
      return result.numDeletedRows > 0n;
    },

    async rolesOf(tenantId, userId) {
      const row = await kysely
        .selectFrom('memberships')
        .innerJoin('tenants', 'tenants.id', 'memberships.tenant_id')
        .select('memberships.roles')
        .where('memberships.tenant_id', '=', tenantId)
        .where('memberships.user_id', '=', userId)
        .where('tenants.deleted_ms', 'is', null)
        .executeTakeFirst();
      return row && parseRoles(row.roles);
    },

    async listMembers(tenantId, { after, limit }) {
      let query = kysely
        .selectFrom('memberships')
        .select(['user_id', 'roles', 'created_ms'])
        .where('tenant_id', '=', tenantId);
      if (after !== undefined) query = query.where('user_id', '>', after);
      const rows = await query.orderBy('user_id').limit(limit).execute();
      return rows.map((row) => ({ ...row, roles: parseRoles(row.roles) }));
    },

    async countWithRole(tenantId, role) {
      // Role arrays are canonical JSON (no spaces) and custom names hold no LIKE
      // wildcard or quote (CUSTOM_ROLE_NAME_PATTERN), so this matches exactly that element.
      const row = await kysely
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('roles', 'like', `%"${role}"%`)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async storedRoles(tenantId, userId) {
      const row = await kysely
        .selectFrom('memberships')
        .select('roles')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row && parseStoredRoles(row.roles);
    },

    async listOfUser(userId) {
      const rows = await kysely
        .selectFrom('memberships')
        .innerJoin('tenants', 'tenants.id', 'memberships.tenant_id')
        .select([
          'memberships.tenant_id',
          'memberships.roles',
          'memberships.status as membership_status',
          'tenants.status',
          'tenants.deleted_ms',
        ])
        .where('memberships.user_id', '=', userId)
        .orderBy('memberships.tenant_id')
        .execute();
      return rows.map((row) => ({
        tenant_id: row.tenant_id,
        roles: parseRoles(row.roles),
        tenant_status: row.status,
        tenant_deleted: row.deleted_ms !== null,
        membership_status: row.membership_status,
      }));
    },

    async standing(tenantId, userId) {
      const row = await kysely
        .selectFrom('tenants')
        .leftJoin('memberships', (join) =>
          join
            .onRef('memberships.tenant_id', '=', 'tenants.id')
            // A null user is nobody's: `user_id = NULL` matches no row.
            .on('memberships.user_id', '=', userId),
        )
        .select([
          'tenants.status',
          'tenants.deleted_ms',
          'tenants.mfa_required',
          'memberships.roles',
          'memberships.status as membership_status',
        ])
        .where('tenants.id', '=', tenantId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        tenant_status: row.deleted_ms === null ? row.status : 'deleted',
        roles: row.roles === null ? null : parseStoredRoles(row.roles),
        membership_status: row.membership_status,
        mfa_required: row.mfa_required,
      };
    },

    memberIds(tenantId) {
      return kysely.selectFrom('memberships').select('user_id').where('tenant_id', '=', tenantId);
    },

    activeMemberIds(tenantId) {
      return kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active');
    },

    async countActive(tenantId) {
      const row = await kysely
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    async activeWithRole(tenantId, role, limit) {
      // The same exact-element match as countWithRole.
      const rows = await kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .where('roles', 'like', `%"${role}"%`)
        .orderBy('user_id')
        .limit(limit)
        .execute();
      return rows.map((row) => row.user_id);
    },

    async hasMemberWithRole(tenantId, role) {
      // Roles are JSON written only by `grant` (canonical, no spaces), and role names
      // hold no quote or LIKE wildcard, so this pattern matches exactly that element.
      const row = await kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('roles', 'like', `%"${role}"%`)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
