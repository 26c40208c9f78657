import type { AuditContext } from '../../access/audit-context.ts';
import { AccessErrors } from '../../access/errors.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import { IdentityErrors } from '../errors.ts';
import type { AuthAudit } from '../login/auth-audit.ts';
import { type IssueAccessToken, issueTokenSet, type TokenSet } from '../tokens/issue-token-set.ts';
import type { UserService } from '../users/user-service.ts';
import type { RefreshOutcome, SessionStore } from './session-store.ts';

/**
 * The refresh flow (RFC 6749 §6), moved out of auth-service.ts: rotation and reuse
 * detection live in the session store; this checks the membership and tenant are still
 * live and counts the attempt.
 */
export interface TokenRefreshDeps {
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  readonly audits: AuthAudit;
  readonly attempts: Pick<AuthAttempts, 'attempt'>;
  /** The user's `email_verified` now, for the new access token's claim. */
  readonly users: Pick<UserService, 'findById'>;
}

/** The rotation, or the API error that answers why there was none. */
function rotatedOrRefused(outcome: RefreshOutcome) {
  switch (outcome.kind) {
    case 'rotated':
      return outcome;
    case 'tenant_suspended':
      throw new TesseraError(
        AccessErrors.tenant_suspended,
        `Tenant ${outcome.tenant_id} is suspended.`,
      );
    case 'reused':
      throw new TesseraError(
        IdentityErrors.refresh_token_reused,
        'This refresh token was already used; the session has been ended.',
      );
    case 'ended':
      throw new TesseraError(
        IdentityErrors.session_revoked,
        'The session has ended; log in again.',
      );
    case 'invalid':
      throw new TesseraError(
        IdentityErrors.refresh_token_invalid,
        'The refresh token is unknown or expired.',
      );
  }
}

export function createTokenRefresh(deps: TokenRefreshDeps) {
  const { sessions, audits, attempts } = deps;

  async function refreshSession(refreshToken: string, context: AuditContext): Promise<TokenSet> {
    const { session, refresh_token } = rotatedOrRefused(
      await sessions.rotate(
        refreshToken,
        context,
        audits.sessionEnded(context, 'refresh_token.reused'),
      ),
    );
    if (session.membership_status === 'deactivated') {
      throw new TesseraError(IdentityErrors.session_revoked, 'Your membership was deactivated.');
    }
    if (session.tenant_status !== 'active') {
      throw new TesseraError(
        AccessErrors.tenant_suspended,
        `Tenant ${session.tenant_id} is suspended.`,
      );
    }
    const user = await deps.users.findById(session.user_id);
    return issueTokenSet(
      deps.issueAccessToken,
      session.user_id,
      session.tenant_id,
      session.roles,
      {
        session_id: session.id,
        refresh_token,
        amr: session.amr,
        auth_time_ms: session.auth_time_ms,
      },
      user?.email_verified ?? false,
    );
  }

  return async function refresh(refreshToken: string, context: AuditContext): Promise<TokenSet> {
    try {
      const issued = await refreshSession(refreshToken, context);
      attempts.attempt('refresh', 'success');
      return issued;
    } catch (error) {
      if (error instanceof TesseraError && error.status < 500)
        attempts.attempt('refresh', 'failure');
      throw error;
    }
  };
}
