import type { Actor } from '../../access/actor.ts';
import type { AuditContext } from '../../access/audit-context.ts';
import { mfaPolicyCovers } from '../../access/mfa-policy.ts';
import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import { sessionPrincipal } from '../guard/guard.ts';
import type { TotpEnrollment, TotpService } from '../mfa/totp/totp-service.ts';
import type { SessionRecord, SessionStore } from '../sessions/session-store.ts';
import type { CustomRoleLookup } from '../tenancy-port.ts';

export interface InteractionEnrollmentDeps {
  readonly sessions: Pick<SessionStore, 'find'>;
  /** The guard's: the permissions of a session's roles in its tenant. */
  readonly customRoles: Pick<CustomRoleLookup, 'permissionsOf'>;
  /** The guard's: whether the user has a second factor at all. */
  readonly hasFactor: (userId: string) => Promise<boolean>;
  readonly totp: Pick<TotpService, 'enroll' | 'confirm'>;
}

/**
 * The TOTP enrollment of the hosted pages (issue 19): a tenant whose MFA policy covers
 * the user, who has no factor, would have the grant's tokens refused by the guard
 * (`mfa_enrollment_required`), so the sign-in sets one up before it finishes. The
 * session the sign-in started acts, as the JSON API's `POST /auth/mfa/totp` would
 * with its access token: the same TOTP service, its rules and its audit; confirming
 * records the proof on that session, which the grant then carries (`amr` with `otp`
 * and `mfa`).
 */
export function createInteractionEnrollment(deps: InteractionEnrollmentDeps) {
  async function live(sessionId: string): Promise<SessionRecord> {
    const session = await deps.sessions.find(sessionId);
    if (!session || session.revoked_ms !== null || session.expires_ms <= Date.now()) {
      throw new TesseraError(
        IdentityErrors.session_revoked,
        'This sign-in has ended; start again.',
      );
    }
    return session;
  }

  /** The session as the guard would see it: who, with what roles and proofs. */
  async function actorOf(session: SessionRecord, context: AuditContext): Promise<Actor> {
    const permissions = await deps.customRoles.permissionsOf(session.roles, session.tenant_id);
    const principal = sessionPrincipal(session, permissions);
    return { principal, audit: { ...context, actor: session.user_id, actor_type: 'user' } };
  }

  return {
    /** Whether the session's tenant requires a factor the user does not have yet. */
    async due(sessionId: string): Promise<boolean> {
      const session = await deps.sessions.find(sessionId);
      if (!session || session.second_factor_ms !== null) return false;
      const permissions = await deps.customRoles.permissionsOf(session.roles, session.tenant_id);
      if (!mfaPolicyCovers(session.mfa_required, permissions)) return false;
      return !(await deps.hasFactor(session.user_id));
    },

    async start(sessionId: string, context: AuditContext): Promise<TotpEnrollment> {
      const session = await live(sessionId);
      return deps.totp.enroll(await actorOf(session, context));
    },

    /** The first code: the factor is active, the session has proved it; the recovery codes. */
    async confirm(sessionId: string, code: string, context: AuditContext): Promise<string[]> {
      const session = await live(sessionId);
      return (await deps.totp.confirm(await actorOf(session, context), code)).recovery_codes;
    },
  };
}

export type InteractionEnrollment = ReturnType<typeof createInteractionEnrollment>;
