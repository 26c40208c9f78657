import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Mailer } from '../../email/mailer.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { LoginLockout } from '../../protection/lockout/login-lockout.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import { emailTokenInvalid, MAX_EMAIL_TOKEN_LENGTH } from '../email-tokens/email-token-invalid.ts';
import { createEmailTokenStore, type EmailTokenGrant } from '../email-tokens/email-token-store.ts';
import { passwordChangedNotice } from '../login/password-changed-notice.ts';
import { hashPassword } from '../login/passwords.ts';
import { requireStrongPassword } from '../login/require-strong-password.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { MembershipsOfUser } from '../tenancy-port.ts';
import type { UserService } from '../users/user-service.ts';
import { createUserStore, type User } from '../users/user-store.ts';

export interface ResetPasswordDeps {
  readonly db: Pick<DatabaseBase, 'kysely'>;
  readonly users: Pick<UserService, 'findById'>;
  /** Its `revokeAllOfUser` runs the reset's transaction and tells every node's cache after. */
  readonly sessions: Pick<SessionStore, 'revokeAllOfUser'>;
  readonly audit: AuditLog;
  readonly mailer: Pick<Mailer, 'queueIn' | 'flush'>;
  /** Tenancy's: the user's tenants, whose trails record the reset. */
  readonly membershipsOf: MembershipsOfUser;
  /** The reset ends the account's lock: its owner proved it by email. */
  readonly lockout: Pick<LoginLockout, 'cleared'>;
  /** `auth.password_min_length`. */
  readonly passwordMinLength: number;
  readonly now?: (() => number) | undefined;
}

/** What a reset link would do, for the page that shows its form. */
export type ResetLink = { readonly ok: true; readonly email: string } | { readonly ok: false };

/** Thrown inside the reset's transaction to roll it back: the link was not usable. */
class LinkRefused extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/**
 * `POST /auth/password/reset`: the link of a reset email sets a new password. The
 * policy is checked before the token is used (a typo must not burn the link); then,
 * in one transaction: the token is used (of concurrent uses, exactly one gets it),
 * the password set, every session of the user ended, their other email links voided,
 * the address marked verified (the link proves it), the account's lock lifted, a
 * `password_changed` notice queued, and the audit entries appended.
 */
export function createResetPassword(deps: ResetPasswordDeps) {
  const { audit, mailer } = deps;
  const now = deps.now ?? Date.now;

  /** The token's grant and its user, without using it; or why it would not work. */
  async function usable(
    token: string,
  ): Promise<{ ok: true; grant: EmailTokenGrant; user: User } | { ok: false; reason: string }> {
    if (token.length > MAX_EMAIL_TOKEN_LENGTH) return { ok: false, reason: 'unknown' };
    const seen = await createEmailTokenStore(deps.db.kysely, now).peek('reset_password', token);
    if (!seen.ok) return seen;
    const user = await deps.users.findById(seen.grant.user_id);
    if (!user || !stillFits(user, seen.grant)) return { ok: false, reason: 'account_changed' };
    return { ok: true, grant: seen.grant, user };
  }

  async function refused(context: AuditContext, reason: string, userId?: string): Promise<never> {
    await audit.record(context, [
      {
        tenant_id: SYSTEM_TENANT,
        action: 'password.reset_failed',
        target: userId === undefined ? null : `user:${userId}`,
        outcome: 'failure',
        details: { reason },
      },
    ]);
    throw emailTokenInvalid();
  }

  async function reset(
    input: { token: string; new_password: string },
    context: AuditContext,
  ): Promise<void> {
    const found = await usable(input.token);
    if (!found.ok) return refused(context, found.reason);
    const userId = found.user.id;
    try {
      requireStrongPassword(input.new_password, deps.passwordMinLength);
    } catch (error) {
      if (error instanceof TesseraError) {
        await audit.record(context, [
          {
            tenant_id: SYSTEM_TENANT,
            action: 'password.reset_failed',
            target: `user:${userId}`,
            outcome: 'failure',
            details: { reason: error.code },
          },
        ]);
      }
      throw error;
    }
    // Hashed before the transaction: argon2 takes tens of milliseconds, locks should not.
    const hash = await hashPassword(input.new_password);
    const trails = (await deps.membershipsOf(userId))
      .filter((m) => !m.tenant_deleted)
      .map((m) => m.tenant_id);
    const actor: AuditContext = { ...context, actor: userId, actor_type: 'user' };
    try {
      await deps.sessions.revokeAllOfUser(userId, 'password_reset', undefined, async (trx) => {
        const at = now();
        const tokens = createEmailTokenStore(trx, () => at);
        const used = await tokens.consume('reset_password', input.token);
        if (!used.ok) throw new LinkRefused(used.reason);
        const users = createUserStore({ kysely: trx }, () => at);
        const user = await users.findById(userId);
        if (used.grant.user_id !== userId || !user || !stillFits(user, used.grant)) {
          throw new LinkRefused('account_changed');
        }
        await users.updatePasswordHash(userId, hash);
        await users.markEmailVerified(userId, user.email);
        await tokens.voidAll(userId);
        const unlocked = await deps.lockout.cleared(trx, userId);
        await mailer.queueIn(
          trx,
          passwordChangedNotice(user, used.grant.tenant_id, context.ip, at),
        );
        await audit.inTransaction(trx, actor, entries(trails, userId, user.email, unlocked));
      });
    } catch (error) {
      if (error instanceof LinkRefused) return refused(context, error.reason, userId);
      throw error;
    }
    mailer.flush();
  }

  return {
    reset,
    /** What the link would reset, changing nothing (mail scanners open links). */
    async check(token: string): Promise<ResetLink> {
      const found = await usable(token);
      return found.ok ? { ok: true, email: found.user.email } : { ok: false };
    },
    /** `auth.password_min_length`, for the page's form. */
    passwordMinLength: deps.passwordMinLength,
  };
}

/** A link works only for an active account that still has the address it was sent to. */
function stillFits(user: User, grant: EmailTokenGrant): boolean {
  return user.status === 'active' && user.email === grant.email;
}

/** `password.reset` in each live tenant's trail (the platform's when none), and the unlock. */
function entries(
  trails: readonly string[],
  userId: string,
  email: string,
  unlocked: boolean,
): AuditEntry[] {
  const tenants = trails.length > 0 ? trails : [SYSTEM_TENANT];
  return tenants.flatMap((tenantId): AuditEntry[] => {
    const target = `user:${userId}`;
    const reset: AuditEntry = {
      tenant_id: tenantId,
      action: 'password.reset',
      target,
      outcome: 'success',
      details: { email },
    };
    if (!unlocked) return [reset];
    const unlock: AuditEntry = {
      tenant_id: tenantId,
      action: 'account.unlocked',
      target,
      outcome: 'success',
      details: { reason: 'password_reset' },
    };
    return [reset, unlock];
  });
}

export type ResetPassword = ReturnType<typeof createResetPassword>;
