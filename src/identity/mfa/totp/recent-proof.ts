import type { Principal } from '../../../access/principal.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { notForApiKeys } from '../../login/not-for-api-keys.ts';
import { MfaErrors } from '../mfa-errors.ts';

/** A signed-in user's session: what every factor change needs (never an API key). */
export interface FactorOwner {
  readonly userId: string;
  readonly sessionId: string;
  readonly tenantId: string;
}

/** 400 for an API key: factors are a person's, proved in a session. */
export function factorOwnerOf(principal: Principal, action: string): FactorOwner {
  if (principal.userId === null || principal.sessionId === null) throw notForApiKeys(action);
  return { userId: principal.userId, sessionId: principal.sessionId, tenantId: principal.tenantId };
}

/**
 * Enrolling a factor needs a password or factor check within `windowSeconds`
 * (`mfa.reauthentication_seconds`): a session left open on someone else's screen
 * cannot bind a new authenticator to the account.
 */
export function requireRecentReauthentication(
  principal: Principal,
  windowSeconds: number,
  atMs: number,
): void {
  const proved = principal.authentication?.reauthMs ?? null;
  if (proved === null || atMs - proved > windowSeconds * 1000) {
    throw new TesseraError(
      MfaErrors.reauthentication_required,
      `Enrolling a factor needs a password or second-factor check within the last ${windowSeconds} seconds: log in again.`,
      { extensions: { reauthentication_seconds: windowSeconds } },
    );
  }
}

/**
 * Removing a factor or replacing recovery codes needs a second-factor check within
 * `windowSeconds` (`mfa.step_up_seconds`), whatever the tenant's policy: whoever
 * holds only the password must not be able to strip the second factor.
 */
export function requireRecentSecondFactor(
  principal: Principal,
  windowSeconds: number,
  atMs: number,
): void {
  const proved = principal.authentication?.secondFactorMs ?? null;
  if (proved === null || atMs - proved > windowSeconds * 1000) {
    throw new TesseraError(
      MfaErrors.step_up_required,
      `This needs a second-factor check within the last ${windowSeconds} seconds: POST /api/v1/auth/mfa/step-up.`,
      { extensions: { step_up_seconds: windowSeconds } },
    );
  }
}
