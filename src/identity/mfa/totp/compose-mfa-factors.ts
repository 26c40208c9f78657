import type { AuditLog } from '../../../audit/audit-log.ts';
import type { Config } from '../../../config/schema.ts';
import type { Mailer } from '../../../email/mailer.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { DatabaseBase } from '../../../storage/database.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { UserService } from '../../users/user-service.ts';
import { createRecoveryCodeService } from '../recovery-codes/recovery-code-service.ts';
import { createRecoveryCodeVerifier } from '../recovery-codes/recovery-code-verifier.ts';
import type { SecondFactorVerifier } from '../second-factor.ts';
import { createFactorChangeRecord } from './factor-change-record.ts';
import { createTotpService } from './totp-service.ts';
import { createTotpVerifier } from './totp-verifier.ts';

export interface MfaFactorNeeds {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly config: Config['mfa'];
  readonly masterKey: () => Buffer;
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly audit: AuditLog;
  readonly mailer: Mailer;
  readonly attempts: AuthAttempts;
  readonly now: () => number;
}

/**
 * TOTP and recovery codes, built once for the composition root: the services the
 * routes call and their second-factor verifiers (a passkey verifier joins the list
 * where it is composed).
 */
export function composeMfaFactors(needs: MfaFactorNeeds): {
  totp: ReturnType<typeof createTotpService>;
  recoveryCodes: ReturnType<typeof createRecoveryCodeService>;
  factorVerifiers: readonly SecondFactorVerifier[];
} {
  const { db, config, masterKey, mailer, attempts, now } = needs;
  const recordChange = createFactorChangeRecord({ audit: needs.audit, mailer });
  return {
    totp: createTotpService({
      db,
      masterKey,
      users: needs.users,
      sessions: needs.sessions,
      recordChange,
      mailer,
      attempts,
      mfa: config,
      now,
    }),
    recoveryCodes: createRecoveryCodeService({
      db,
      recordChange,
      mailer,
      attempts,
      mfa: config,
      now,
    }),
    factorVerifiers: [
      createTotpVerifier({ kysely: db.kysely, masterKey, now }),
      createRecoveryCodeVerifier({ db, recordChange, mailer, now }),
    ],
  };
}
