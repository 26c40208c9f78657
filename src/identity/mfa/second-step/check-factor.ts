import type { AuditContext } from '../../../access/audit-context.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { LoginLockout } from '../../../protection/lockout/login-lockout.ts';
import { MfaErrors } from '../mfa-errors.ts';
import type { FactorAttempt, FactorOutcome, SecondFactorMethod } from '../second-factor.ts';
import type { FactorRegistry } from './factor-registry.ts';

/** A second-factor proof as a client sends it (login's second step and step-up alike). */
export interface FactorProofInput {
  readonly method: SecondFactorMethod;
  readonly code?: string | undefined;
  readonly response?: unknown;
}

export interface CheckFactorDeps {
  readonly registry: FactorRegistry;
  readonly lockout: LoginLockout;
  readonly attempts: Pick<AuthAttempts, 'attempt'>;
}

/**
 * Checks one second-factor proof under the account's lockout: a guess takes one of
 * the account's `max_failures` attempts before it is checked (reserved atomically, on
 * any node), a wrong one is a failure like a wrong password, and a locked account's
 * proof is not checked at all. Every refusal answers `400 mfa_code_invalid`, locked or
 * not, as a login answers a locked account like a wrong password; `refused` records
 * the true reason in the caller's trail first.
 */
export async function checkFactor(
  deps: CheckFactorDeps,
  userId: string,
  input: FactorProofInput,
  binding: FactorAttempt['binding'],
  context: AuditContext,
  refused: (reason: string) => Promise<void>,
  tenantsOf: () => Promise<readonly string[]>,
): Promise<Extract<FactorOutcome, { ok: true }>> {
  const verifier = await deps.registry.verifierFor(userId, input.method);
  requireProofShape(input);
  const admission = await deps.lockout.admit(userId);
  if (!admission.admitted) {
    await refused(admission.locked ? 'account_locked' : 'attempts_exhausted');
    deps.attempts.attempt(input.method, 'locked');
    throw codeInvalid();
  }
  const outcome = await verifier.verify(
    { userId, code: input.code, response: input.response, binding },
    context,
  );
  if (!outcome.ok) {
    await refused(outcome.reason);
    await deps.lockout.failed(
      context,
      { user_id: userId, tenant_ids: await tenantsOf() },
      admission,
    );
    deps.attempts.attempt(input.method, 'failure');
    throw codeInvalid();
  }
  await deps.lockout.succeeded(userId);
  return outcome;
}

/** A code for codes, a response for passkeys: a request without one is malformed, not a guess. */
function requireProofShape(input: FactorProofInput): void {
  const wantsCode = input.method !== 'webauthn';
  if (wantsCode && typeof input.code !== 'string') {
    throw new TesseraError(MfaErrors.mfa_code_invalid, `The method ${input.method} needs a code.`);
  }
  if (!wantsCode && (typeof input.response !== 'object' || input.response === null)) {
    throw new TesseraError(
      MfaErrors.mfa_code_invalid,
      "The method webauthn needs the authenticator's response (the JSON of navigator.credentials.get).",
    );
  }
}

function codeInvalid(): TesseraError {
  return new TesseraError(
    MfaErrors.mfa_code_invalid,
    'That second factor was not accepted: a wrong, used or expired code, or a passkey that did not verify.',
  );
}
