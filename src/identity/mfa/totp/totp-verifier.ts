import type { AnyKysely } from '../../../storage/database.ts';
import type { SecondFactorVerifier } from '../second-factor.ts';
import { requireCode } from './require-code.ts';
import { matchingStep } from './totp-codes.ts';
import { openTotpSecret } from './totp-secret.ts';
import { TOTP_PROOF } from './totp-service.ts';
import { createTotpStore } from './totp-store.ts';

export interface TotpVerifierDeps {
  readonly kysely: AnyKysely;
  readonly masterKey: () => Buffer;
  readonly now: () => number;
}

/**
 * TOTP as a second factor at login and step-up. A code is accepted at most once,
 * on any node: only for a time step later than the last accepted, in one
 * conditional UPDATE (totp-store.ts `spendStep`), so a replay, or the second of two
 * simultaneous uses, is refused.
 */
export function createTotpVerifier(deps: TotpVerifierDeps): SecondFactorVerifier {
  const totp = createTotpStore(deps.kysely);
  return {
    method: 'totp',
    async enabledFor(userId) {
      return (await totp.find(userId))?.confirmed_ms != null;
    },
    async verify(attempt) {
      const code = requireCode(attempt.code, 'totp');
      const factor = await totp.find(attempt.userId);
      if (!factor || factor.confirmed_ms === null) return { ok: false, reason: 'not_enrolled' };
      const secret = openTotpSecret(deps.masterKey(), attempt.userId, factor.secret);
      const step = await matchingStep(secret, code, deps.now());
      if (step === undefined) return { ok: false, reason: 'wrong_code' };
      if (factor.last_step !== null && step <= factor.last_step) {
        return { ok: false, reason: 'replayed' };
      }
      if (!(await totp.spendStep(attempt.userId, step))) return { ok: false, reason: 'replayed' };
      return { ok: true, proof: TOTP_PROOF };
    },
  };
}
