import type { AuditContext } from '../../../access/audit-context.ts';
import type { Principal } from '../../../access/principal.ts';
import type { AuditLog } from '../../../audit/audit-log.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { IdentityErrors } from '../../errors.ts';
import { notForApiKeys } from '../../login/not-for-api-keys.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { type CheckFactorDeps, checkFactor, type FactorProofInput } from './check-factor.ts';

/** What `POST /auth/mfa/step-up` answers: the session's methods now and until when the proof counts. */
export interface SteppedUp {
  readonly amr: readonly string[];
  readonly second_factor_at: string;
  /** Sensitive operations are allowed until then (`mfa.step_up_seconds`). */
  readonly step_up_until: string;
}

export interface StepUpDeps extends CheckFactorDeps {
  readonly sessions: Pick<SessionStore, 'recordProof'>;
  readonly audit: AuditLog;
  readonly stepUpSeconds: number;
  readonly tenantsOf: (userId: string) => Promise<readonly string[]>;
}

/**
 * Step-up (issue 18, item 5): a signed-in session proves a second factor again, and
 * sensitive operations are open to it for `mfa.step_up_seconds`. It is also how a
 * session the tenant's policy covers, signed in before the user enrolled, becomes a
 * full one. A wrong code counts toward the account's lockout as at login: a stolen
 * access token must not be a way to guess codes.
 */
export function createStepUp(deps: StepUpDeps) {
  return async function stepUp(
    principal: Principal,
    input: FactorProofInput,
    context: AuditContext,
  ): Promise<SteppedUp> {
    const sessionId = principal.sessionId;
    const userId = principal.userId;
    if (sessionId === null || userId === null) throw notForApiKeys('step up');
    const entry = (outcome: 'success' | 'failure', details: Record<string, unknown>) => ({
      tenant_id: principal.tenantId,
      action: 'mfa.step_up',
      target: `session:${sessionId}`,
      outcome,
      details: { method: input.method, ...details },
    });
    const outcome = await checkFactor(
      deps,
      userId,
      input,
      { kind: 'session', sessionId },
      context,
      (reason) => deps.audit.record(context, [entry('failure', { reason })]),
      () => deps.tenantsOf(userId),
    );
    const recorded = await deps.sessions.recordProof(sessionId, outcome.proof, (trx) =>
      deps.audit.inTransaction(trx, context, [entry('success', { ...(outcome.detail ?? {}) })]),
    );
    // The session ended while the proof was checked (a logout elsewhere): nothing to raise.
    if (!recorded) {
      throw new TesseraError(
        IdentityErrors.session_revoked,
        'This session has ended; sign in again.',
      );
    }
    deps.attempts.attempt(input.method, 'success');
    const at = recorded.second_factor_ms ?? Date.now();
    return {
      amr: recorded.amr,
      second_factor_at: new Date(at).toISOString(),
      step_up_until: new Date(at + deps.stepUpSeconds * 1000).toISOString(),
    };
  };
}
