import type { Kysely } from 'kysely';

// Reading one session with its tenant's state and the user's roles now, moved out of
// session-store.ts: every authenticated request and every refresh goes through it.

/** A row of `sessions` (migrations 0004 and 0006). */
export interface SessionRow {
  id: string;
  user_id: string;
  tenant_id: string;
  created_ms: number;
  expires_ms: number;
  revoked_ms: number | null;
  revoked_reason: string | null;
  last_used_ms: number | null;
  ip: string | null;
  user_agent: string | null;
}

export interface SessionTables {
  sessions: SessionRow;
  refresh_tokens: {
    token_hash: string;
    session_id: string;
    created_ms: number;
    expires_ms: number;
    used_ms: number | null;
  };
  tenants: { id: string; status: string; deleted_ms: number | null };
  memberships: { tenant_id: string; user_id: string; roles: string; status: string };
}

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
