import type { AuditContext } from '../../../access/audit-context.ts';
import type { AuditLog } from '../../../audit/audit-log.ts';
import type { Mailer } from '../../../email/mailer.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import { createUserService } from '../../users/user-service.ts';
import { mfaChangedNotice } from '../mfa-changed-notice.ts';

export interface FactorChange {
  /** The trail it goes to: the session's tenant (at login, the login's). */
  readonly tenantId: string;
  readonly userId: string;
  /** e.g. `mfa.totp_enrolled`. */
  readonly action: string;
  /** Never a secret or a code. */
  readonly details?: Record<string, unknown>;
  /** Default `success`; a refused code is a `failure`. */
  readonly outcome?: 'success' | 'failure';
  /** The `mfa_changed` email's sentence; null: no email (nothing changed yet). */
  readonly notice: string | null;
}

export interface FactorChangeRecordDeps {
  readonly audit: AuditLog;
  readonly mailer: Pick<Mailer, 'queueIn'>;
}

/**
 * What every change of a user's factors leaves, in the change's own transaction: its
 * audit event and the `mfa_changed` email to the owner (so either all of it commits
 * or none). The caller flushes the mailer after the commit.
 */
export function createFactorChangeRecord(deps: FactorChangeRecordDeps) {
  return async function recordFactorChange(
    trx: AnyKysely,
    context: AuditContext,
    change: FactorChange,
    atMs: number,
  ): Promise<void> {
    await deps.audit.inTransaction(trx, context, [
      {
        tenant_id: change.tenantId,
        action: change.action,
        target: `user:${change.userId}`,
        outcome: change.outcome ?? 'success',
        details: change.details ?? {},
      },
    ]);
    if (change.notice === null) return;
    const user = await createUserService({ kysely: trx }).findById(change.userId);
    if (!user) return;
    await deps.mailer.queueIn(
      trx,
      mfaChangedNotice(user, change.tenantId, change.notice, context.ip, atMs),
    );
  };
}

export type RecordFactorChange = ReturnType<typeof createFactorChangeRecord>;
