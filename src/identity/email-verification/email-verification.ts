import type { AuditContext } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Mailer } from '../../email/mailer.ts';
import { durationWords } from '../../email/templates/duration-words.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { emailTokenInvalid, MAX_EMAIL_TOKEN_LENGTH } from '../email-tokens/email-token-invalid.ts';
import { createEmailTokenStore } from '../email-tokens/email-token-store.ts';
import { IdentityErrors } from '../errors.ts';
import { notForApiKeys } from '../login/not-for-api-keys.ts';
import type { SignInOf } from '../tenancy-port.ts';
import type { UserService } from '../users/user-service.ts';
import { createUserStore } from '../users/user-store.ts';

/** Where a verification email's link leads: the page of email-verification-page.ts. */
export const VERIFY_EMAIL_PAGE = '/auth/email/verify';

export interface EmailVerificationDeps {
  readonly db: Pick<DatabaseBase, 'kysely' | 'transaction'>;
  readonly users: Pick<UserService, 'findById'>;
  readonly audit: AuditLog;
  readonly mailer: Mailer;
  /** Tenancy's: the caller's tenant's name, for the email. */
  readonly signInOf: SignInOf;
  /** `auth.email_verification_ttl_seconds`. */
  readonly ttlSeconds: number;
  readonly now?: (() => number) | undefined;
}

/** What `request` answers: where the link went and until when it works. */
export interface VerificationSent {
  readonly email: string;
  readonly expires_at: string;
}

export interface VerifiedEmail {
  readonly user_id: string;
  readonly email: string;
  readonly email_verified: true;
}

/** What a link would do, for the page that only shows a button. */
export type VerificationLink =
  | { readonly ok: true; readonly email: string }
  | { readonly ok: false };

type Consumed =
  | { readonly ok: true; readonly verified: VerifiedEmail }
  | { readonly ok: false; readonly reason: string; readonly user_id?: string };

/**
 * Email verification: a signed-in user asks for a link (`request`), and whoever opens
 * it proves they read the address's mail (`verify`). The token is bound to the user
 * and the address it was sent to: once the account's address changes, it is void.
 */
export function createEmailVerification(deps: EmailVerificationDeps) {
  const { db, users, audit, mailer } = deps;
  const now = deps.now ?? Date.now;

  async function refused(context: AuditContext, reason: string, userId?: string): Promise<never> {
    await audit.record(context, [
      {
        tenant_id: SYSTEM_TENANT,
        action: 'email.verification_failed',
        target: userId === undefined ? null : `user:${userId}`,
        outcome: 'failure',
        details: { reason },
      },
    ]);
    throw emailTokenInvalid();
  }

  return {
    /**
     * Sends the caller a verification link, valid `ttlSeconds`; an earlier link stops
     * working. 400 for an API key, 409 `email_already_verified`, 503 `email_not_configured`.
     */
    async request(principal: Principal, context: AuditContext): Promise<VerificationSent> {
      if (principal.userId === null || principal.sessionId === null) {
        throw notForApiKeys('ask for an email verification');
      }
      const user = await users.findById(principal.userId);
      if (!user) {
        throw new TesseraError(IdentityErrors.user_not_found, 'Your account no longer exists.');
      }
      if (user.email_verified) {
        throw new TesseraError(
          IdentityErrors.email_already_verified,
          `${user.email} is verified already; no email was sent.`,
        );
      }
      mailer.requireConfigured();
      const tenantId = principal.tenantId;
      const tenant = await deps.signInOf(tenantId);
      const issued = await db.transaction(async (trx: AnyKysely) => {
        const made = await createEmailTokenStore(trx, now).issue(
          'verify_email',
          { user_id: user.id, tenant_id: tenantId, email: user.email, redirect_uri: null },
          deps.ttlSeconds * 1000,
        );
        await mailer.queueIn(trx, {
          kind: 'verify_email',
          to: user.email,
          tenantId,
          values: {
            name: user.name ?? '',
            tenant_name: tenant?.tenant_name ?? '',
            link: mailer.linkTo(VERIFY_EMAIL_PAGE, made.token),
            expires_in: durationWords(deps.ttlSeconds),
          },
        });
        await audit.inTransaction(trx, context, [
          {
            tenant_id: tenantId,
            action: 'email.verification_requested',
            target: `user:${user.id}`,
            outcome: 'success',
            details: { email: user.email },
          },
        ]);
        return made;
      });
      mailer.flush();
      return { email: user.email, expires_at: new Date(issued.expires_ms).toISOString() };
    },

    /** Uses the link: the address is verified. 400 `email_token_invalid` otherwise. */
    async verify(token: string, context: AuditContext): Promise<VerifiedEmail> {
      if (token.length > MAX_EMAIL_TOKEN_LENGTH) return refused(context, 'unknown');
      const outcome = await db.transaction(async (trx: AnyKysely): Promise<Consumed> => {
        const used = await createEmailTokenStore(trx, now).consume('verify_email', token);
        if (!used.ok) return used;
        const { user_id, email, tenant_id } = used.grant;
        // Spent either way: a link to an address the account no longer has is void.
        if (!(await createUserStore({ kysely: trx }).markEmailVerified(user_id, email))) {
          return { ok: false, reason: 'email_changed', user_id };
        }
        const entry: AuditEntry = {
          tenant_id: tenant_id ?? SYSTEM_TENANT,
          action: 'email.verified',
          target: `user:${user_id}`,
          outcome: 'success',
          details: { email },
        };
        // The link proves who opened it: the trail names the user, as after a login.
        await audit.inTransaction(trx, { ...context, actor: user_id, actor_type: 'user' }, [entry]);
        return { ok: true, verified: { user_id, email, email_verified: true } };
      });
      if (!outcome.ok) return refused(context, outcome.reason, outcome.user_id);
      return outcome.verified;
    },

    /** What the link would verify, changing nothing (mail scanners open links). */
    async check(token: string): Promise<VerificationLink> {
      if (token.length > MAX_EMAIL_TOKEN_LENGTH) return { ok: false };
      const seen = await createEmailTokenStore(db.kysely, now).peek('verify_email', token);
      if (!seen.ok) return { ok: false };
      const user = await users.findById(seen.grant.user_id);
      return user?.email === seen.grant.email ? { ok: true, email: user.email } : { ok: false };
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
