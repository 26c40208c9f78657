import { type Expression, type Kysely, sql } from 'kysely';
import { likeContaining } from '../../storage/like-containing.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { parseStoredRoles } from '../role-names.ts';

export type MemberStatus = 'active' | 'deactivated';

/** A user as their tenant's administrators see them: identity plus this tenant's membership. */
export interface TenantUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  /** As stored: built-in and (later) custom role names. */
  readonly roles: string[];
  readonly status: MemberStatus;
  readonly email_verified: boolean;
  readonly created_ms: number;
  /** When the user joined this tenant. */
  readonly joined_ms: number;
}

export interface UserFilter {
  readonly status?: MemberStatus | undefined;
  readonly role?: string | undefined;
  readonly team?: string | undefined;
  /** Case-insensitive substring of the email or the name. */
  readonly q?: string | undefined;
  /** User id cursor: the last id of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

type UserAdminTables = Pick<Tables, 'tenants' | 'memberships' | 'team_members'>;

export interface UserAdminStoreOptions {
  /** Whether writers run concurrently (PostgreSQL), so the tenant row must be locked. */
  readonly rowLocks: boolean;
  readonly now?: () => number;
}

/** A membership as the tenant's administrators manage it; the identity is identity's. */
export interface MembershipRecord {
  readonly user_id: string;
  /** As stored: built-in and custom role names. */
  readonly roles: string[];
  readonly status: MemberStatus;
  /** When the user joined this tenant. */
  readonly joined_ms: number;
}

const MEMBERSHIP_COLUMNS = [
  'memberships.user_id',
  'memberships.roles',
  'memberships.status',
  'memberships.created_ms as joined_ms',
] as const;

/**
 * The memberships a tenant administrator manages. `db` is normally a transaction
 * (`{ kysely: trx }`): the service checks and writes in one, and tells the credential
 * cache after it commits. Identities (users) are identity's: see tenant-user-reads.ts.
 */
export function createUserAdminStore(db: Pick<Database, 'kysely'>, options: UserAdminStoreOptions) {
  const kysely: Kysely<UserAdminTables> = db.kysely;
  const now = options.now ?? Date.now;

  const selectMemberships = (tenantId: string) =>
    kysely
      .selectFrom('memberships')
      .select(MEMBERSHIP_COLUMNS)
      .where('memberships.tenant_id', '=', tenantId);
  type Row = Awaited<ReturnType<ReturnType<typeof selectMemberships>['execute']>>[number];
  const toRecord = (row: Row): MembershipRecord => ({
    user_id: row.user_id,
    roles: parseStoredRoles(row.roles),
    status: row.status,
    joined_ms: row.joined_ms,
  });

  return {
    /**
     * Serialises the tenant's membership changes until the transaction ends, so a
     * check such as "another active admin remains" cannot be passed by two at once.
     * Its own statement: later statements (READ COMMITTED) see what the wait let in.
     * NO KEY UPDATE leaves logins (foreign key checks on the tenant row) unblocked.
     * SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
     */
    /** Locks the tenant's row; answers its status (undefined: no such tenant). */
    async lockTenant(tenantId: string): Promise<string | undefined> {
      let query = kysely
        .selectFrom('tenants')
        .select(['id', 'status', 'deleted_ms'])
        .where('id', '=', tenantId);
      if (options.rowLocks) query = query.forNoKeyUpdate();
      const row = await query.executeTakeFirst();
      return row && (row.deleted_ms === null ? row.status : 'deleted');
    },

    async getMembership(tenantId: string, userId: string): Promise<MembershipRecord | undefined> {
      const row = await selectMemberships(tenantId)
        .where('memberships.user_id', '=', userId)
        .executeTakeFirst();
      return row && toRecord(row);
    },

    /**
     * A page of the tenant's memberships by user id. `matching`: only users among it (a
     * subquery of user ids, identity's answer to the filter's `q`), in the same read.
     */
    async listMemberships(
      tenantId: string,
      filter: Omit<UserFilter, 'q'>,
      matching?: Expression<{ id: string }>,
    ): Promise<MembershipRecord[]> {
      let query = selectMemberships(tenantId);
      if (filter.status !== undefined)
        query = query.where('memberships.status', '=', filter.status);
      if (filter.role !== undefined) {
        // Roles are compact JSON arrays, so the quoted name matches exactly one element.
        const pattern = likeContaining(JSON.stringify(filter.role));
        query = query.where(sql<boolean>`memberships.roles like ${pattern} escape '\\'`);
      }
      if (filter.team !== undefined) {
        const team = filter.team;
        query = query.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('team_members')
              .select('team_members.user_id')
              .whereRef('team_members.tenant_id', '=', 'memberships.tenant_id')
              .whereRef('team_members.user_id', '=', 'memberships.user_id')
              .where('team_members.team_id', '=', team),
          ),
        );
      }
      if (matching !== undefined) {
        query = query.where(sql<boolean>`memberships.user_id in ${matching}`);
      }
      if (filter.after !== undefined) query = query.where('memberships.user_id', '>', filter.after);
      const rows = await query.orderBy('memberships.user_id').limit(filter.limit).execute();
      return rows.map(toRecord);
    },

    async addMembership(tenantId: string, userId: string, roles: readonly string[]) {
      await kysely
        .insertInto('memberships')
        .values({
          tenant_id: tenantId,
          user_id: userId,
          roles: JSON.stringify(roles),
          status: 'active',
          created_ms: now(),
        })
        .execute();
    },

    async setStatus(tenantId: string, userId: string, status: MemberStatus) {
      await kysely
        .updateTable('memberships')
        .set({ status })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .execute();
    },

    async setRoles(tenantId: string, userId: string, roles: readonly string[]) {
      await kysely
        .updateTable('memberships')
        .set({ roles: JSON.stringify(roles) })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .execute();
    },

    /**
     * The membership, then the user's places in the tenant's teams. In that order: a
     * concurrent "add to team" locks the membership row first, so it either commits
     * before this delete (and its place is removed below) or finds no member.
     */
    async removeMembership(tenantId: string, userId: string) {
      await kysely
        .deleteFrom('memberships')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .execute();
      await kysely
        .deleteFrom('team_members')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .execute();
    },

    /** Active members holding the built-in `admin` role, other than `userId`. */
    async otherActiveAdmins(tenantId: string, userId: string): Promise<number> {
      const row = await kysely
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('user_id', '<>', userId)
        .where('status', '=', 'active')
        .where('roles', 'like', '%"admin"%')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    /** Of `userIds`, those with an active membership of the tenant. */
    async activeAmong(tenantId: string, userIds: readonly string[]): Promise<Set<string>> {
      if (userIds.length === 0) return new Set();
      const rows = await kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .where('user_id', 'in', userIds)
        .execute();
      return new Set(rows.map((row) => row.user_id));
    },

    /** The live tenants other than `tenantId` the user belongs to (deleted ones do not count). */
    async otherTenantsOf(userId: string, tenantId: string): Promise<string[]> {
      const rows = await kysely
        .selectFrom('memberships')
        .innerJoin('tenants', 'tenants.id', 'memberships.tenant_id')
        .select('memberships.tenant_id')
        .where('memberships.user_id', '=', userId)
        .where('memberships.tenant_id', '<>', tenantId)
        .where('tenants.deleted_ms', 'is', null)
        .execute();
      return rows.map((row) => row.tenant_id);
    },

    async hasAnyMembership(userId: string): Promise<boolean> {
      const row = await kysely
        .selectFrom('memberships')
        .select('tenant_id')
        .where('user_id', '=', userId)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Takes the user out of every team of every tenant: an identity being erased. */
    async removeFromAllTeams(userId: string): Promise<void> {
      await kysely.deleteFrom('team_members').where('user_id', '=', userId).execute();
    },
  };
}

export type UserAdminStore = ReturnType<typeof createUserAdminStore>;
