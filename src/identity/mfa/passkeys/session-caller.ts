import type { Principal } from '../../../access/principal.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { notForApiKeys } from '../../login/not-for-api-keys.ts';
import { MfaErrors } from '../mfa-errors.ts';

/** A signed-in user's session: what every passkey change and step-up belongs to. */
export interface SessionCaller {
  readonly userId: string;
  readonly sessionId: string;
  readonly tenantId: string;
  readonly reauthMs: number | null;
  readonly secondFactorMs: number | null;
}

/** The caller's session; an API key is refused (400), as for a password change. */
export function sessionCaller(principal: Principal, action: string): SessionCaller {
  if (principal.userId === null || principal.sessionId === null) throw notForApiKeys(action);
  return {
    userId: principal.userId,
    sessionId: principal.sessionId,
    tenantId: principal.tenantId,
    reauthMs: principal.authentication?.reauthMs ?? null,
    secondFactorMs: principal.authentication?.secondFactorMs ?? null,
  };
}

/** Enrolling a factor: a password or factor proved in this session within `seconds`. */
export function requireRecentProof(caller: SessionCaller, seconds: number, at: number): void {
  if (caller.reauthMs === null || at - caller.reauthMs > seconds * 1000) {
    throw new TesseraError(
      MfaErrors.reauthentication_required,
      `Registering a passkey needs a password or second-factor check within the last ${seconds} seconds: sign in again (or step up) first.`,
      { extensions: { reauthentication_seconds: seconds } },
    );
  }
}

/**
 * Removing a factor, or adding one beside another: a second factor proved in this
 * session within `seconds`, whatever the policy. `action` completes "… needs".
 */
export function requireRecentSecondFactor(
  caller: SessionCaller,
  seconds: number,
  at: number,
  action = 'Removing a passkey',
): void {
  if (caller.secondFactorMs === null || at - caller.secondFactorMs > seconds * 1000) {
    throw new TesseraError(
      MfaErrors.step_up_required,
      `${action} needs a second-factor check within the last ${seconds} seconds: POST /api/v1/auth/mfa/step-up.`,
      { extensions: { step_up_seconds: seconds } },
    );
  }
}
