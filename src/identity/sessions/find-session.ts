import type { Kysely } from 'kysely';
import type { Tables } from '../../storage/tables.ts';

// Reading one session with its tenant's state and the user's roles now, moved out of
// session-store.ts: every authenticated request and every refresh goes through it.

export type SessionTables = Pick<Tables, 'sessions' | 'refresh_tokens' | 'tenants' | 'memberships'>;

export interface SessionRecord {
  readonly id: string;
  readonly user_id: string;
  readonly tenant_id: string;
  readonly expires_ms: number;
  readonly revoked_ms: number | null;
  /** Of the session's tenant: `active`, `suspended`, or `deleted`. */
  readonly tenant_status: string;
  /** The user's roles in that tenant now (a revoked membership: none). */
  readonly roles: readonly string[];
  /** `active` or `deactivated`; null when the user is no member of the tenant any more. */
  readonly membership_status: string | null;
}

/** The session `sessionId`, on `on` (the store's connection or a transaction), or undefined. */
export async function findSession(
  on: Kysely<SessionTables>,
  sessionId: string,
): Promise<SessionRecord | undefined> {
  const row = await on
    .selectFrom('sessions')
    .innerJoin('tenants', 'tenants.id', 'sessions.tenant_id')
    // Roles are read with the session on every request, so taking a role away
    // takes effect at once, not when the user's access token expires.
    .leftJoin('memberships', (join) =>
      join
        .onRef('memberships.tenant_id', '=', 'sessions.tenant_id')
        .onRef('memberships.user_id', '=', 'sessions.user_id'),
    )
    .select([
      'sessions.id',
      'sessions.user_id',
      'sessions.tenant_id',
      'expires_ms',
      'revoked_ms',
      'tenants.status',
      'tenants.deleted_ms',
      'memberships.roles',
      'memberships.status as membership_status',
    ])
    .where('sessions.id', '=', sessionId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { status, deleted_ms, roles, ...session } = row;
  return {
    ...session,
    tenant_status: deleted_ms === null ? status : 'deleted',
    roles: roles === null ? [] : (JSON.parse(roles) as string[]),
  };
}
