import type { Kysely } from 'kysely';
import { newId } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';
import { parseRoles, type RoleName } from '../role-names.ts';

/** A pending invitation as its invitee sees it. */
export interface Invitation {
  readonly id: string;
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly roles: RoleName[];
  readonly created_ms: number;
  readonly expires_ms: number;
}

/** A pending invitation of a tenant, naming its invitee by user id (the identity is identity's). */
export interface TenantInvitationRecord {
  readonly id: string;
  readonly user_id: string;
  readonly roles: RoleName[];
  readonly invited_by: string | null;
  /** The teams of the tenant the invitee joins on accepting. */
  readonly team_ids: string[];
  readonly created_ms: number;
  readonly expires_ms: number;
}

/** What cancelling removed: whom it invited, with which roles. */
export interface CancelledInvitation {
  readonly user_id: string;
  readonly roles: RoleName[];
}

/** What accepting consumed: where and with which roles (and teams) the membership is made. */
export interface ConsumedInvitation {
  readonly tenant_id: string;
  readonly roles: RoleName[];
  readonly team_ids: string[];
}

/** A live invitation found by the digest of its email's token, to a tenant not deleted. */
export interface InvitationByToken {
  readonly id: string;
  readonly tenant_id: string;
  readonly tenant_name: string;
  /** A suspended tenant's invitations wait: nobody joins it (or signs in to it) meanwhile. */
  readonly tenant_status: 'active' | 'suspended';
  readonly user_id: string;
  readonly roles: RoleName[];
  readonly team_ids: string[];
  readonly expires_ms: number;
}

/** What a resend renewed: whom the invitation is for, with which roles, until when. */
export interface ReissuedInvitation {
  readonly user_id: string;
  readonly roles: RoleName[];
  readonly team_ids: string[];
  readonly expires_ms: number;
}

/** A stored JSON array of team ids (migration 0012), strings only. */
function parseTeamIds(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

type InvitationTables = Pick<Tables, 'invitations' | 'tenants'>;

/**
 * Invitations of identities to tenants (migration 0010). `kysely` is normally a
 * transaction, so an invitation is written or consumed with its audit event.
 */
export function createInvitationStore(db: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<InvitationTables> = db;

  return {
    /**
     * The pending invitation of `userId` to `tenantId`, replacing an earlier one (a
     * second invitation is the same answer to the inviter, and the newest roles hold).
     * `token_digest`: the digest of the token its email carries (null: none was sent),
     * so the earlier invitation's link stops working with it.
     */
    async put(invitation: {
      tenant_id: string;
      user_id: string;
      roles: readonly string[];
      team_ids: readonly string[];
      invited_by: string | null;
      ttl_ms: number;
      token_digest: string | null;
    }): Promise<{ id: string; expires_ms: number }> {
      const at = now();
      const row = {
        id: newId(),
        roles: JSON.stringify(invitation.roles),
        team_ids: JSON.stringify(invitation.team_ids),
        invited_by: invitation.invited_by,
        created_ms: at,
        expires_ms: at + invitation.ttl_ms,
        token_digest: invitation.token_digest,
      };
      await kysely
        .insertInto('invitations')
        .values({ ...row, tenant_id: invitation.tenant_id, user_id: invitation.user_id })
        .onConflict((conflict) => conflict.columns(['tenant_id', 'user_id']).doUpdateSet(row))
        .execute();
      return { id: row.id, expires_ms: row.expires_ms };
    },

    /** The user's live invitations (unexpired, to tenants not deleted), newest first. */
    async listForUser(userId: string): Promise<Invitation[]> {
      const rows = await kysely
        .selectFrom('invitations')
        .innerJoin('tenants', 'tenants.id', 'invitations.tenant_id')
        .select([
          'invitations.id',
          'invitations.tenant_id',
          'tenants.name as tenant_name',
          'invitations.roles',
          'invitations.created_ms',
          'invitations.expires_ms',
        ])
        .where('invitations.user_id', '=', userId)
        .where('invitations.expires_ms', '>', now())
        .where('tenants.deleted_ms', 'is', null)
        .orderBy('invitations.created_ms', 'desc')
        .orderBy('invitations.id')
        .limit(100)
        .execute();
      return rows.map((row) => ({
        ...row,
        created_ms: Number(row.created_ms),
        expires_ms: Number(row.expires_ms),
        roles: parseRoles(row.roles),
      }));
    },

    /**
     * Uses the invitation up: one DELETE that matches only a live invitation of this
     * user, so of two concurrent accepts (or an accept and a decline) exactly one
     * gets it. Undefined when there is none (another user's, expired, used).
     */
    async consume(userId: string, id: string): Promise<ConsumedInvitation | undefined> {
      const row = await kysely
        .deleteFrom('invitations')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('expires_ms', '>', now())
        .returning(['tenant_id', 'roles', 'team_ids'])
        .executeTakeFirst();
      return (
        row && {
          tenant_id: row.tenant_id,
          roles: parseRoles(row.roles),
          team_ids: parseTeamIds(row.team_ids),
        }
      );
    },

    /**
     * The live invitation whose email carried the token of `digest`, without using it
     * (the page an email's link opens shows it; a mail scanner's GET changes nothing).
     */
    async findByToken(digest: string): Promise<InvitationByToken | undefined> {
      const row = await kysely
        .selectFrom('invitations')
        .innerJoin('tenants', 'tenants.id', 'invitations.tenant_id')
        .select([
          'invitations.id',
          'invitations.tenant_id',
          'tenants.name as tenant_name',
          'tenants.status as tenant_status',
          'invitations.user_id',
          'invitations.roles',
          'invitations.team_ids',
          'invitations.expires_ms',
        ])
        .where('invitations.token_digest', '=', digest)
        .where('invitations.expires_ms', '>', now())
        .where('tenants.deleted_ms', 'is', null)
        .executeTakeFirst();
      return (
        row && {
          ...row,
          expires_ms: Number(row.expires_ms),
          roles: parseRoles(row.roles),
          team_ids: parseTeamIds(row.team_ids),
        }
      );
    },

    /**
     * Uses up the live invitation of the token's `digest`: one DELETE ... RETURNING, so
     * of concurrent uses of one link (on any number of nodes) exactly one gets it.
     */
    async consumeByToken(
      digest: string,
    ): Promise<(ConsumedInvitation & { id: string; user_id: string }) | undefined> {
      const row = await kysely
        .deleteFrom('invitations')
        .where('token_digest', '=', digest)
        .where('expires_ms', '>', now())
        .returning(['id', 'tenant_id', 'user_id', 'roles', 'team_ids'])
        .executeTakeFirst();
      return (
        row && {
          id: row.id,
          tenant_id: row.tenant_id,
          user_id: row.user_id,
          roles: parseRoles(row.roles),
          team_ids: parseTeamIds(row.team_ids),
        }
      );
    },

    /**
     * Gives the tenant's live invitation `id` a new token and a fresh expiry (a resend):
     * the old link stops working in the same statement. Undefined when there is none.
     */
    async reissue(
      tenantId: string,
      id: string,
      change: { token_digest: string; ttl_ms: number },
    ): Promise<ReissuedInvitation | undefined> {
      const at = now();
      const row = await kysely
        .updateTable('invitations')
        .set({ token_digest: change.token_digest, expires_ms: at + change.ttl_ms })
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .where('expires_ms', '>', at)
        .returning(['user_id', 'roles', 'team_ids', 'expires_ms'])
        .executeTakeFirst();
      return (
        row && {
          user_id: row.user_id,
          roles: parseRoles(row.roles),
          team_ids: parseTeamIds(row.team_ids),
          expires_ms: Number(row.expires_ms),
        }
      );
    },

    /** The active tenants with a live invitation of the user: where they may sign in to answer. */
    async invitingTenants(userId: string): Promise<string[]> {
      const rows = await kysely
        .selectFrom('invitations')
        .innerJoin('tenants', 'tenants.id', 'invitations.tenant_id')
        .select('invitations.tenant_id')
        .where('invitations.user_id', '=', userId)
        .where('invitations.expires_ms', '>', now())
        .where('tenants.deleted_ms', 'is', null)
        .where('tenants.status', '=', 'active')
        .orderBy('invitations.tenant_id')
        .execute();
      return rows.map((row) => row.tenant_id);
    },

    /** The tenant's live invitations, by id after the cursor `after` (ids are opaque UUIDs). */
    async listForTenant(
      tenantId: string,
      { after, limit }: { after?: string | undefined; limit: number },
    ): Promise<TenantInvitationRecord[]> {
      let query = kysely
        .selectFrom('invitations')
        .select(['id', 'user_id', 'roles', 'team_ids', 'invited_by', 'created_ms', 'expires_ms'])
        .where('tenant_id', '=', tenantId)
        .where('expires_ms', '>', now());
      if (after !== undefined) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map((row) => ({
        ...row,
        created_ms: Number(row.created_ms),
        expires_ms: Number(row.expires_ms),
        roles: parseRoles(row.roles),
        team_ids: parseTeamIds(row.team_ids),
      }));
    },

    /**
     * Withdraws the tenant's live invitation `id`: one DELETE, so of a cancel and the
     * invitee's answer exactly one gets it. Undefined when there is none (another
     * tenant's, expired, answered).
     */
    async cancel(tenantId: string, id: string): Promise<CancelledInvitation | undefined> {
      const row = await kysely
        .deleteFrom('invitations')
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .where('expires_ms', '>', now())
        .returning(['user_id', 'roles'])
        .executeTakeFirst();
      return row && { user_id: row.user_id, roles: parseRoles(row.roles) };
    },

    /** Drops a pending invitation made moot, e.g. by a membership made directly. */
    async discard(tenantId: string, userId: string): Promise<void> {
      await kysely
        .deleteFrom('invitations')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .execute();
    },
  };
}

export type InvitationStore = ReturnType<typeof createInvitationStore>;
