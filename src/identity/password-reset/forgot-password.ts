import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Mailer } from '../../email/mailer.ts';
import { durationWords } from '../../email/templates/duration-words.ts';
import { NO_ACCOUNT } from '../../protection/lockout/login-lockout.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { createEmailTokenStore } from '../email-tokens/email-token-store.ts';
import { auditedEmail } from '../login/auth-audit.ts';
import type { MembershipsOfUser, SignInOf } from '../tenancy-port.ts';
import type { UserService } from '../users/user-service.ts';
import { type ResetRecipient, resetRecipient } from './reset-recipient.ts';

/** Where a reset email's link leads: the page of password-reset-page.ts. */
export const RESET_PASSWORD_PAGE = '/auth/password/reset';

export interface ForgotPasswordDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly users: Pick<UserService, 'findByEmail'>;
  readonly audit: AuditLog;
  readonly mailer: Mailer;
  /** Tenancy's: the user's tenants, which decide the email's branding. */
  readonly membershipsOf: MembershipsOfUser;
  /** Tenancy's: the tenant's name, for the email. */
  readonly signInOf: SignInOf;
  /** `auth.password_reset_ttl_seconds`. */
  readonly ttlSeconds: number;
  readonly now?: (() => number) | undefined;
}

/**
 * `POST /auth/password/forgot`. The caller learns nothing: the same answer whether or
 * not an account has the address, is disabled, or belongs to the tenant named. Both
 * ways read the user and their memberships and write a transaction with an audit
 * entry, so the answer's timing tells little either; only a real account also gets a
 * token and a queued email (sent after the answer, by the outbox). 503
 * `email_not_configured` when no email can leave, whatever the address.
 */
export function createForgotPassword(deps: ForgotPasswordDeps) {
  const { db, audit, mailer } = deps;
  const now = deps.now ?? Date.now;

  return async function forgot(
    input: { email: string; tenant_id?: string | undefined },
    context: AuditContext,
  ): Promise<void> {
    mailer.requireConfigured();
    const user = await deps.users.findByEmail(input.email);
    // An unknown address reads memberships too, of an id no account has.
    const memberships = await deps.membershipsOf(user?.id ?? NO_ACCOUNT);
    const recipient = resetRecipient(user, memberships, input.tenant_id);
    const tenant =
      recipient.send && recipient.tenant_id !== null
        ? await deps.signInOf(recipient.tenant_id)
        : undefined;
    await db.transaction(async (trx: AnyKysely) => {
      if (recipient.send) {
        const { user: to, tenant_id } = recipient;
        const issued = await createEmailTokenStore(trx, now).issue(
          'reset_password',
          { user_id: to.id, tenant_id, email: to.email, redirect_uri: null },
          deps.ttlSeconds * 1000,
        );
        await mailer.queueIn(trx, {
          kind: 'reset_password',
          to: to.email,
          tenantId: tenant_id,
          values: {
            name: to.name ?? '',
            tenant_name: tenant?.tenant_name ?? '',
            link: mailer.linkTo(RESET_PASSWORD_PAGE, issued.token),
            expires_in: durationWords(deps.ttlSeconds),
          },
        });
      }
      await audit.inTransaction(trx, context, [requestEntry(recipient, input, user)]);
    });
    if (recipient.send) mailer.flush();
  };
}

/**
 * `password.reset_requested`: in the trail of the tenant whose branding the email
 * wears (the platform's when none); a request that sent nothing in the platform's,
 * never in a tenant's, whose administrators would learn that the address has an
 * account elsewhere.
 */
function requestEntry(
  recipient: ResetRecipient,
  input: { email: string; tenant_id?: string | undefined },
  known: { readonly id: string; readonly email: string } | undefined,
): AuditEntry {
  const tenantNamed = input.tenant_id ?? null;
  if (recipient.send) {
    return {
      tenant_id: recipient.tenant_id ?? SYSTEM_TENANT,
      action: 'password.reset_requested',
      target: `user:${recipient.user.id}`,
      outcome: 'success',
      details: { email: recipient.user.email, tenant_id: tenantNamed, sent: true },
    };
  }
  return {
    tenant_id: SYSTEM_TENANT,
    action: 'password.reset_requested',
    target: known ? `user:${known.id}` : null,
    outcome: 'failure',
    details: {
      email: auditedEmail(input.email, known?.email),
      tenant_id: tenantNamed,
      sent: false,
      reason: recipient.reason,
    },
  };
}
