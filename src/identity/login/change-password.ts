import type { AuditContext } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config/schema.ts';
import type { Mailer } from '../../email/mailer.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { createUserService, type UserService } from '../users/user-service.ts';
import type { AuthAudit } from './auth-audit.ts';
import { invalidCredentials } from './choose-membership.ts';
import { notForApiKeys } from './not-for-api-keys.ts';
import { passwordChangedNotice } from './password-changed-notice.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { requireStrongPassword } from './require-strong-password.ts';

/**
 * A signed-in user's password change, moved out of auth-service.ts: it writes across
 * stores (the hash, every other session, the audit trail) in one transaction.
 */
export interface ChangePasswordDeps {
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly audit: AuditLog;
  readonly audits: AuthAudit;
  /** Read at each change, as before the split, not captured once. */
  readonly auth: Pick<Config['auth'], 'password_min_length'>;
  /** The `password_changed` notice, when email is configured (none otherwise, and no error). */
  readonly mailer: Pick<Mailer, 'queueIn' | 'flush'>;
}

export function createChangePassword(deps: ChangePasswordDeps) {
  const { users, sessions, audits } = deps;

  /** Ends every other session of the user: whoever else knew the old password is out. */
  return async function changePassword(
    principal: Principal,
    input: { current_password: string; new_password: string },
    context: AuditContext,
  ): Promise<void> {
    if (principal.userId === null || principal.sessionId === null)
      throw notForApiKeys('change a password');
    const userId = principal.userId;
    const user = await users.findById(userId);
    const found = user && (await users.findCredentials(user.email));
    if (
      !user ||
      !found?.password_hash ||
      !(await verifyPassword(found.password_hash, input.current_password))
    ) {
      await deps.audit.record(context, [
        {
          ...audits.entry(principal.tenantId, 'password.change_failed', `user:${userId}`),
          outcome: 'failure',
        },
      ]);
      throw invalidCredentials();
    }
    requireStrongPassword(input.new_password, deps.auth.password_min_length);
    const hash = await hashPassword(input.new_password);
    await sessions.revokeAllOfUser(userId, 'password_changed', principal.sessionId, async (trx) => {
      await createUserService({ kysely: trx }).setPasswordHash(userId, hash);
      await deps.mailer.queueIn(
        trx,
        passwordChangedNotice(user, principal.tenantId, context.ip, Date.now()),
      );
      await deps.audit.inTransaction(trx, context, [
        audits.entry(principal.tenantId, 'password.changed', `user:${userId}`),
      ]);
    });
    deps.mailer.flush();
  };
}
