import type { Actor } from '../../../access/actor.ts';
import type { Config } from '../../../config/schema.ts';
import type { Mailer } from '../../../email/mailer.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { AnyKysely, DatabaseBase } from '../../../storage/database.ts';
import { createFactorPresence } from '../factor-presence.ts';
import { MfaErrors } from '../mfa-errors.ts';
import type { RecordFactorChange } from '../totp/factor-change-record.ts';
import { factorOwnerOf, requireRecentSecondFactor } from '../totp/recent-proof.ts';
import { issueRecoveryCodes } from './issue-recovery-codes.ts';

export interface RecoveryCodeServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly recordChange: RecordFactorChange;
  readonly mailer: Pick<Mailer, 'flush'>;
  readonly attempts: Pick<AuthAttempts, 'factorChanged'>;
  readonly mfa: Pick<Config['mfa'], 'step_up_seconds'>;
  readonly now: () => number;
}

/** A user's own recovery codes (issue 18): a new set voids the old. */
export function createRecoveryCodeService(deps: RecoveryCodeServiceDeps) {
  const { db, now } = deps;
  return {
    /**
     * Ten new codes, shown once; the old ones stop working. 409 `mfa_not_enabled`
     * without a factor (codes exist only beside one), 403 `step_up_required` without
     * a second-factor check within `mfa.step_up_seconds`.
     */
    async regenerate(actor: Actor): Promise<{ recovery_codes: string[] }> {
      const owner = factorOwnerOf(actor.principal, 'manage recovery codes');
      const at = now();
      const noFactor = () =>
        new TesseraError(MfaErrors.mfa_not_enabled, 'Enroll a second factor first.');
      if (!(await createFactorPresence(db.kysely).hasFactor(owner.userId))) throw noFactor();
      requireRecentSecondFactor(actor.principal, deps.mfa.step_up_seconds, at);
      const codes = await db.transaction(async (trx: AnyKysely) => {
        const issued = await issueRecoveryCodes(trx, owner.userId, at);
        // Checked again under the user's lock: a factor removed meanwhile leaves no codes.
        if (!(await createFactorPresence(trx).hasFactor(owner.userId))) throw noFactor();
        await deps.recordChange(
          trx,
          actor.audit,
          {
            ...owner,
            action: 'mfa.recovery_codes_regenerated',
            notice: 'New recovery codes were generated; the old ones no longer work.',
          },
          at,
        );
        return issued;
      });
      deps.mailer.flush();
      deps.attempts.factorChanged('recovery_code', 'regenerated');
      return { recovery_codes: codes };
    },
  };
}

export type RecoveryCodeService = ReturnType<typeof createRecoveryCodeService>;
