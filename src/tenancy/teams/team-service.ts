import type { Actor } from '../../access/actor.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import { identityIn, type User } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { checkTenantAccess } from '../tenants/tenant-access.ts';
import {
  createTeamStore,
  type ListTeamsOptions,
  type Team,
  type TeamChanges,
  type TeamMember,
  type TeamStore,
  type TeamWrite,
} from './team-store.ts';

export interface TeamWithMembers extends Team {
  readonly members: TeamMember[];
}

/** Every method acts in `tenantId`, which only a platform administrator may choose freely. */
export interface TeamService {
  create(
    actor: Actor,
    tenantId: string,
    team: { name: string; description?: string | undefined },
  ): Promise<Team>;
  list(actor: Actor, tenantId: string, options: ListTeamsOptions): Promise<Team[]>;
  /** Throws 404 `team_not_found`. */
  get(actor: Actor, tenantId: string, id: string): Promise<TeamWithMembers>;
  update(actor: Actor, tenantId: string, id: string, changes: TeamChanges): Promise<Team>;
  remove(actor: Actor, tenantId: string, id: string): Promise<void>;
  /** Idempotent: `added` is false when the user was in the team already (no event then). */
  addMember(
    actor: Actor,
    tenantId: string,
    id: string,
    userId: string,
  ): Promise<{ member: TeamMember; added: boolean }>;
  removeMember(actor: Actor, tenantId: string, id: string, userId: string): Promise<void>;
}

export interface TeamServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely' | 'capabilities'>;
  readonly audit: AuditLog;
  readonly now?: () => number;
}

function nameTaken(name: string): TesseraError {
  return new TesseraError(TenancyErrors.team_name_taken, `a team named ${name} exists`);
}

/** The team written, or 409 `team_name_taken`. */
function written(write: TeamWrite, name: string | undefined): Team {
  if (!write.ok) throw nameTaken(name ?? '');
  return write.team;
}

function teamNotFound(id: string): TesseraError {
  return new TesseraError(TenancyErrors.team_not_found, `no team has the id ${id}`);
}

const target = (id: string) => `team:${id}`;

const teamMember = (user: User): TeamMember => ({
  user_id: user.id,
  email: user.email,
  name: user.name,
});

/**
 * Teams of a tenant. Each change runs in one transaction whose last step appends its
 * audit event, so a change that fails leaves no event claiming it succeeded.
 */
export function createTeamService({ db, audit, now }: TeamServiceDeps): TeamService {
  const reads = createTeamStore(db, now);

  /** `fn` with a store on the transaction and a way to record what it changed. */
  async function change<T>(
    actor: Actor,
    tenantId: string,
    fn: (
      teams: TeamStore,
      record: (action: string, id: string, details: Record<string, unknown>) => void,
      trx: AnyKysely,
    ) => Promise<T>,
  ): Promise<T> {
    checkTenantAccess(actor.principal, tenantId, 'teams:manage');
    return await db.transaction(async (trx: AnyKysely) => {
      const entries: AuditEntry[] = [];
      const result = await fn(
        createTeamStore({ kysely: trx, capabilities: db.capabilities }, now),
        (action, id, details) =>
          entries.push({
            tenant_id: tenantId,
            action,
            target: target(id),
            outcome: 'success',
            details,
          }),
        trx,
      );
      await audit.inTransaction(trx, actor.audit, entries);
      return result;
    });
  }

  return {
    create: (actor, tenantId, { name, description }) =>
      change(actor, tenantId, async (teams, record) => {
        // An empty description is no description, as PATCH treats it.
        const team = written(
          await teams.create(tenantId, { name, description: description || null }),
          name,
        );
        record('team.created', team.id, { name, description: team.description });
        return team;
      }),

    async list(actor, tenantId, options) {
      checkTenantAccess(actor.principal, tenantId, 'users:read');
      return await reads.list(tenantId, options);
    },

    async get(actor, tenantId, id) {
      checkTenantAccess(actor.principal, tenantId, 'users:read');
      const team = await reads.find(tenantId, id);
      if (!team) throw teamNotFound(id);
      // Identities are identity's, read in one query, by email.
      const users = await identityIn(db.kysely).users.findManyByIds(
        await reads.memberIds(tenantId, id),
      );
      return { ...team, members: users.map(teamMember) };
    },

    update: (actor, tenantId, id, changes) =>
      change(actor, tenantId, async (teams, record) => {
        const normalized = changes.description === '' ? { ...changes, description: null } : changes;
        const write = await teams.update(tenantId, id, normalized);
        if (!write) throw teamNotFound(id);
        const team = written(write, normalized.name);
        record('team.updated', id, { ...normalized });
        return team;
      }),

    remove: (actor, tenantId, id) =>
      change(actor, tenantId, async (teams, record) => {
        // Counted first: the cascade takes the memberships with the team.
        const memberCount = await teams.memberCount(tenantId, id);
        const team = await teams.delete(tenantId, id);
        if (!team) throw teamNotFound(id);
        record('team.deleted', id, { name: team.name, member_count: memberCount });
      }),

    addMember: (actor, tenantId, id, userId) =>
      change(actor, tenantId, async (teams, record, trx) => {
        // Both locked until commit, so neither the team nor the membership can be
        // deleted between these checks and the insert.
        if (!(await teams.find(tenantId, id, { lock: true }))) throw teamNotFound(id);
        const member =
          (await teams.isTenantMember(tenantId, userId, { lock: true })) &&
          (await identityIn(trx).users.findById(userId));
        if (!member) {
          throw new TesseraError(
            IdentityErrors.user_not_found,
            `no member of this tenant has the user id ${userId}`,
          );
        }
        const added = await teams.addMember(tenantId, id, userId);
        if (added) record('team.member_added', id, { user_id: userId });
        return { member: teamMember(member), added };
      }),

    removeMember: (actor, tenantId, id, userId) =>
      change(actor, tenantId, async (teams, record) => {
        if (!(await teams.find(tenantId, id))) throw teamNotFound(id);
        if (!(await teams.removeMember(tenantId, id, userId))) {
          throw new TesseraError(
            TenancyErrors.team_member_not_found,
            `user ${userId} is not in team ${id}`,
          );
        }
        record('team.member_removed', id, { user_id: userId });
      }),
  };
}
