import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DatabaseBase } from '../../storage/database.ts';
import { likeContaining } from '../../storage/like-containing.ts';
import type { Tables } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';

export interface Team {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly created_ms: number;
  readonly updated_ms: number;
}

export interface TeamMember {
  readonly user_id: string;
  readonly email: string;
  readonly name: string | null;
}

export interface ListTeamsOptions {
  /** Name cursor: the last name of the previous page (teams are listed by name). */
  readonly after?: string | undefined;
  readonly limit: number;
  /** Only teams whose name contains this, ignoring case. */
  readonly q?: string | undefined;
}

export interface TeamChanges {
  readonly name?: string | undefined;
  /** null clears it. */
  readonly description?: string | null | undefined;
}

/** A write of a team's name: done, or refused because the tenant has that name (any case). */
export type TeamWrite =
  | { readonly ok: true; readonly team: Team }
  | { readonly ok: false; readonly reason: 'name_taken' };

export interface TeamStore {
  create(tenantId: string, team: { name: string; description: string | null }): Promise<TeamWrite>;
  /**
   * `lock`: on engines with concurrent writers, hold the row until the transaction
   * ends, so a concurrent delete waits instead of slipping in before our write.
   */
  find(tenantId: string, id: string, options?: { lock?: boolean }): Promise<Team | undefined>;
  list(tenantId: string, options: ListTeamsOptions): Promise<Team[]>;
  /** Undefined when no such team. */
  update(tenantId: string, id: string, changes: TeamChanges): Promise<TeamWrite | undefined>;
  /** The team deleted (its memberships go with it, by cascade), or undefined. */
  delete(tenantId: string, id: string): Promise<Team | undefined>;
  /** The user ids of the team's members (their identities are identity's). */
  memberIds(tenantId: string, teamId: string): Promise<string[]>;
  memberCount(tenantId: string, teamId: string): Promise<number>;
  /** Whether the user is a member of the tenant (memberships), locked like `find` when asked. */
  isTenantMember(tenantId: string, userId: string, options?: { lock?: boolean }): Promise<boolean>;
  /** True when added, false when the user was in the team already. */
  addMember(tenantId: string, teamId: string, userId: string): Promise<boolean>;
  /** True when removed, false when the user was not in the team. */
  removeMember(tenantId: string, teamId: string, userId: string): Promise<boolean>;
  /**
   * Takes the user out of every team of the tenant, for whoever removes them from the
   * tenant; returns the ids of the teams they left. Call it in the same transaction,
   * after deleting the membership: a concurrent `addMember` locks the membership first,
   * so it either finishes before the delete (and its row is removed here) or finds no
   * membership.
   */
  removeUserFromTeams(tenantId: string, userId: string): Promise<string[]>;
}

type TeamTables = Pick<Tables, 'teams' | 'team_members' | 'memberships'>;

const NAME_TAKEN = { ok: false, reason: 'name_taken' } as const;

/**
 * One Kysely store for both engines; `db` is usually a transaction
 * (`{ kysely: trx, capabilities }`). Names are unique per tenant regardless of case by
 * the `teams_name` index: writes insert and catch its violation, so two concurrent
 * creates cannot both pass a check.
 */
export function createTeamStore(
  db: Pick<DatabaseBase, 'kysely' | 'capabilities'>,
  now: () => number = Date.now,
): TeamStore {
  const kysely: Kysely<TeamTables> = db.kysely;
  // SQLite has one writer, so a transaction already excludes every other change;
  // PostgreSQL needs row locks (FOR KEY SHARE: blocks deletes, not other updates).
  const locking = db.capabilities.concurrentWriters;

  return {
    async create(tenantId, { name, description }) {
      const at = now();
      const team: Team = { id: randomUUID(), name, description, created_ms: at, updated_ms: at };
      try {
        await kysely
          .insertInto('teams')
          .values({ tenant_id: tenantId, ...team })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) return NAME_TAKEN;
        throw error;
      }
      return { ok: true, team };
    },

    async find(tenantId, id, { lock = false } = {}) {
      let query = kysely
        .selectFrom('teams')
        .select(['id', 'name', 'description', 'created_ms', 'updated_ms'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id);
      if (lock && locking) query = query.forKeyShare();
      return await query.executeTakeFirst();
    },

    async list(tenantId, { after, limit, q }) {
      const lowerName = sql<string>`lower(name)`;
      let query = kysely
        .selectFrom('teams')
        .select(['id', 'name', 'description', 'created_ms', 'updated_ms'])
        .where('tenant_id', '=', tenantId);
      // The database lowers both sides, as its unique index does, so order, cursor
      // and uniqueness agree on what "ignoring case" means.
      if (after !== undefined) query = query.where(lowerName, '>', sql<string>`lower(${after})`);
      if (q !== undefined) {
        query = query.where(
          sql<boolean>`${lowerName} like lower(${likeContaining(q)}) escape '\\'`,
        );
      }
      return await query.orderBy(lowerName).limit(limit).execute();
    },

    async update(tenantId, id, changes) {
      try {
        const team = await kysely
          .updateTable('teams')
          .set({ ...changes, updated_ms: now() })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .returning(['id', 'name', 'description', 'created_ms', 'updated_ms'])
          .executeTakeFirst();
        return team && { ok: true, team };
      } catch (error) {
        if (isUniqueViolation(error)) return NAME_TAKEN;
        throw error;
      }
    },

    async delete(tenantId, id) {
      return await kysely
        .deleteFrom('teams')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .returning(['id', 'name', 'description', 'created_ms', 'updated_ms'])
        .executeTakeFirst();
    },

    async memberIds(tenantId, teamId) {
      const rows = await kysely
        .selectFrom('team_members')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('team_id', '=', teamId)
        .execute();
      return rows.map((row) => row.user_id);
    },

    async memberCount(tenantId, teamId) {
      const row = await kysely
        .selectFrom('team_members')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('team_id', '=', teamId)
        .executeTakeFirstOrThrow();
      // PostgreSQL's count is a bigint, which pg returns as a string.
      return Number(row.count);
    },

    async isTenantMember(tenantId, userId, { lock = false } = {}) {
      let query = kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId);
      // Locking the membership holds the user too: its row cannot go while this one stays.
      if (lock && locking) query = query.forKeyShare();
      return (await query.executeTakeFirst()) !== undefined;
    },

    async addMember(tenantId, teamId, userId) {
      const result = await kysely
        .insertInto('team_members')
        .values({ tenant_id: tenantId, team_id: teamId, user_id: userId, created_ms: now() })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async removeMember(tenantId, teamId, userId) {
      const result = await kysely
        .deleteFrom('team_members')
        .where('tenant_id', '=', tenantId)
        .where('team_id', '=', teamId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async removeUserFromTeams(tenantId, userId) {
      const rows = await kysely
        .deleteFrom('team_members')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .returning('team_id')
        .execute();
      return rows.map((row) => row.team_id);
    },
  };
}
