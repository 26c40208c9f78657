import type { Kysely } from 'kysely';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';

type SessionAdminTables = Pick<Tables, 'sessions' | 'refresh_tokens'>;

/** A session as its user and their administrators see it: never a token. */
export interface SessionView {
  readonly id: string;
  readonly created_ms: number;
  readonly last_used_ms: number | null;
  readonly expires_ms: number;
  readonly ip: string | null;
  readonly user_agent: string | null;
}

/** Which of a user's live sessions in a tenant to revoke. */
export type SessionSelection = { readonly only: string } | { readonly except?: string | undefined };

export interface SessionAdminStore {
  /** Live sessions (neither revoked nor expired) of the user in the tenant, by id. */
  listLive(
    tenantId: string,
    userId: string,
    page: { after?: string | undefined; limit: number },
  ): Promise<SessionView[]>;
  /** Revokes live sessions of the user in the tenant; returns the ids revoked. */
  revoke(
    tenantId: string,
    userId: string,
    which: SessionSelection,
    reason: string,
  ): Promise<string[]>;
  /**
   * Revokes the tenant's live sessions not proved through its IdP (no `fed` in their
   * `amr`), except those of `exempt` users; returns how many (SSO enforcement).
   */
  revokeUnfederated(tenantId: string, exempt: readonly string[], reason: string): Promise<number>;
  /** Deletes every session of the user, in every tenant, with its refresh tokens. */
  deleteAllOfUser(userId: string): Promise<void>;
}

const VIEW_COLUMNS = [
  'id',
  'created_ms',
  'last_used_ms',
  'expires_ms',
  'ip',
  'user_agent',
] as const;

/**
 * Session administration on `db`, which may be a transaction (`{ kysely: trx }`) so
 * revocations commit with the audit events that record them. Callers tell the
 * credential cache once the transaction commits.
 */
export function createSessionAdminStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
): SessionAdminStore {
  const kysely: Kysely<SessionAdminTables> = db.kysely;

  return {
    async listLive(tenantId, userId, { after, limit }) {
      let query = kysely
        .selectFrom('sessions')
        .select(VIEW_COLUMNS)
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('revoked_ms', 'is', null)
        .where('expires_ms', '>', now());
      if (after !== undefined) query = query.where('id', '>', after);
      return query.orderBy('id').limit(limit).execute();
    },

    async revoke(tenantId, userId, which, reason) {
      const at = now();
      let query = kysely
        .updateTable('sessions')
        .set({ revoked_ms: at, revoked_reason: reason })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('revoked_ms', 'is', null)
        .where('expires_ms', '>', at);
      if ('only' in which) query = query.where('id', '=', which.only);
      else if (which.except !== undefined) query = query.where('id', '<>', which.except);
      const rows = await query.returning('id').execute();
      return rows.map((row) => row.id).sort();
    },

    async revokeUnfederated(tenantId, exempt, reason) {
      const at = now();
      let query = kysely
        .updateTable('sessions')
        .set({ revoked_ms: at, revoked_reason: reason })
        .where('tenant_id', '=', tenantId)
        .where('revoked_ms', 'is', null)
        .where('expires_ms', '>', at)
        // `amr` is a JSON array of short method names: '"fed"' appears only as that item.
        .where('amr', 'not like', '%"fed"%');
      if (exempt.length > 0) query = query.where('user_id', 'not in', exempt);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async deleteAllOfUser(userId) {
      const ofUser = kysely.selectFrom('sessions').select('id').where('user_id', '=', userId);
      await kysely.deleteFrom('refresh_tokens').where('session_id', 'in', ofUser).execute();
      await kysely.deleteFrom('sessions').where('user_id', '=', userId).execute();
    },
  };
}
