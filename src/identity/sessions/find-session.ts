import type { Kysely } from 'kysely';
import type { MfaPolicy } from '../../access/mfa-policy.ts';
import type { Tables } from '../../storage/tables.ts';
import type { StandingOf } from '../tenancy-port.ts';
import { parseAmr, type SessionAuthentication } from './sign-in-proof.ts';

// Reading one session with its tenant's state and the user's roles now, moved out of
// session-store.ts: every authenticated request and every refresh goes through it.

export type SessionTables = Pick<Tables, 'sessions' | 'refresh_tokens'>;

export interface SessionRecord extends SessionAuthentication {
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
  /** The tenant's MFA policy now. */
  readonly mfa_required: MfaPolicy;
  /** The OAuth grant the session acts for (the OpenID Provider); null: a sign-in of the JSON API. */
  readonly oauth_grant_id: string | null;
}

/**
 * The session `sessionId`, on `on` (the store's connection or a transaction), or
 * undefined. Tenants and memberships are tenancy's: `standingOf` reads them on the
 * same connection, so a refresh's transaction sees one state.
 */
export async function findSession(
  on: Kysely<SessionTables>,
  standingOf: StandingOf,
  sessionId: string,
): Promise<SessionRecord | undefined> {
  const session = await on
    .selectFrom('sessions')
    .select([
      'id',
      'user_id',
      'tenant_id',
      'created_ms',
      'expires_ms',
      'revoked_ms',
      'amr',
      'auth_time_ms',
      'reauth_ms',
      'second_factor_ms',
      'oauth_grant_id',
    ])
    .where('id', '=', sessionId)
    .executeTakeFirst();
  if (!session) return undefined;
  // Roles are read with the session on every request, so taking a role away
  // takes effect at once, not when the user's access token expires.
  const standing = await standingOf(on, session.tenant_id, session.user_id);
  // The foreign key keeps the tenant's row (tenants are only soft-deleted).
  if (!standing) return undefined;
  const { created_ms, amr, auth_time_ms, ...rest } = session;
  return {
    ...rest,
    amr: parseAmr(amr),
    // Sessions older than migration 0013 signed in when they were created.
    auth_time_ms: auth_time_ms ?? created_ms,
    mfa_required: standing.mfa_required,
    tenant_status: standing.tenant_status,
    roles: standing.roles ?? [],
    membership_status: standing.membership_status,
  };
}
