import type { Mailer } from '../../../email/mailer.ts';
import type { AnyKysely, DatabaseBase } from '../../../storage/database.ts';
import { createFactorPresence } from '../factor-presence.ts';
import type { FactorOutcome, SecondFactorVerifier } from '../second-factor.ts';
import type { RecordFactorChange } from '../totp/factor-change-record.ts';
import { requireCode } from '../totp/require-code.ts';
import { normalizeRecoveryCode, recoveryCodeDigest } from './recovery-code-format.ts';
import { RECOVERY_CODE_PROOF } from './recovery-code-proof.ts';
import { createRecoveryCodeStore } from './recovery-code-store.ts';
import { tenantOfBinding } from './tenant-of-binding.ts';

export interface RecoveryCodeVerifierDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly recordChange: RecordFactorChange;
  readonly mailer: Pick<Mailer, 'flush'>;
  readonly now: () => number;
}

/**
 * A recovery code as a second factor, when the authenticator is lost. Spending it is
 * one conditional UPDATE (`used_ms` set where it was null): of two simultaneous uses
 * exactly one succeeds. The use is audited and emailed to the owner in the same
 * transaction: a stranger holding a code must not go unnoticed.
 */
export function createRecoveryCodeVerifier(deps: RecoveryCodeVerifierDeps): SecondFactorVerifier {
  const { db } = deps;
  return {
    method: 'recovery_code',
    async enabledFor(userId) {
      const unused = await createRecoveryCodeStore(db.kysely).countUnused(userId);
      return unused > 0 && (await createFactorPresence(db.kysely).hasFactor(userId));
    },
    async verify(attempt, context) {
      const normalized = normalizeRecoveryCode(requireCode(attempt.code, 'recovery_code'));
      if (normalized === undefined) return { ok: false, reason: 'wrong_code' };
      const { userId } = attempt;
      const digest = recoveryCodeDigest(userId, normalized);
      const at = deps.now();
      const outcome = await db.transaction(async (trx: AnyKysely): Promise<FactorOutcome> => {
        const codes = createRecoveryCodeStore(trx);
        if (!(await codes.spend(userId, digest, at))) {
          return { ok: false, reason: await whyRefused(trx, userId, digest) };
        }
        const codesLeft = await codes.countUnused(userId);
        const tenantId = await tenantOfBinding(trx, attempt.binding);
        await deps.recordChange(
          trx,
          { ...context, actor: userId, actor_type: 'user' },
          {
            tenantId,
            userId,
            action: 'mfa.recovery_code_used',
            details: { codes_left: codesLeft, binding: attempt.binding.kind },
            notice: `A recovery code was used to prove your second factor; ${codesLeft} remain.`,
          },
          at,
        );
        return { ok: true, proof: RECOVERY_CODE_PROOF, detail: { codes_left: codesLeft } };
      });
      if (outcome.ok) deps.mailer.flush();
      return outcome;
    },
  };
}

/** `replayed` for a code already spent, `not_enrolled` with none at all, else `wrong_code`. */
async function whyRefused(trx: AnyKysely, userId: string, digest: string): Promise<string> {
  const codes = createRecoveryCodeStore(trx);
  if (await codes.isSpent(userId, digest)) return 'replayed';
  return (await codes.countAll(userId)) === 0 ? 'not_enrolled' : 'wrong_code';
}
