import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { InSessionChange } from '../sessions/session-store.ts';
import type { UserMembership } from '../tenancy-port.ts';

/** The audit events of logins, logouts, refresh token reuse, passwords and sign-ups. */
export interface AuthAudit {
  /** Runs in the new session's transaction: `login.succeeded`, as the user who proved it. */
  loggedIn(context: AuditContext): InSessionChange;
  /**
   * One `login.failed` per refused login, whether or not the email is known (the same
   * work either way): in the tenant named if it exists, else the known user's first
   * live tenant, else the platform's (`system`).
   */
  loginFailed(
    context: AuditContext,
    attempt: { email: string; tenant_id?: string | undefined },
    known: { user_id: string; email: string; memberships: readonly UserMembership[] } | undefined,
    reason: string,
  ): Promise<void>;
  /**
   * `login.second_factor_required`: the first factor was right and the account has a
   * second; no session yet (`POST /auth/mfa/verify` records `login.succeeded`).
   */
  secondFactorDue(
    context: AuditContext,
    userId: string,
    tenantId: string,
    firstFactor: string,
  ): Promise<void>;
  /** `logout` or `refresh_token.reused` (a stolen or replayed token ended its session). */
  sessionEnded(context: AuditContext, action: 'logout' | 'refresh_token.reused'): InSessionChange;
  entry(
    tenantId: string,
    action: string,
    target: string | null,
    details?: Record<string, unknown>,
  ): AuditEntry;
}

export function createAuthAudit(
  audit: AuditLog,
  tenantExists: (id: string) => Promise<boolean>,
): AuthAudit {
  const entry: AuthAudit['entry'] = (tenantId, action, target, details = {}) => ({
    tenant_id: tenantId,
    action,
    target,
    outcome: 'success',
    details,
  });
  return {
    entry,
    loggedIn: (context) => (trx, session) =>
      audit.inTransaction(trx, { ...context, actor: session.user_id, actor_type: 'user' }, [
        entry(session.tenant_id, 'login.succeeded', `session:${session.id}`),
      ]),
    async loginFailed(context, attempt, known, reason) {
      const named = attempt.tenant_id;
      const tenantId =
        (named !== undefined && (await tenantExists(named)) ? named : undefined) ??
        known?.memberships.find((m) => !m.tenant_deleted)?.tenant_id ??
        SYSTEM_TENANT;
      await audit.record({ ...context, actor: null, actor_type: 'anonymous' }, [
        {
          tenant_id: tenantId,
          action: 'login.failed',
          target: known ? `user:${known.user_id}` : null,
          outcome: 'failure',
          details: { email: auditedEmail(attempt.email, known?.email), reason },
        },
      ]);
    },
    secondFactorDue: (context, userId, tenantId, firstFactor) =>
      audit.record({ ...context, actor: userId, actor_type: 'user' }, [
        entry(tenantId, 'login.second_factor_required', `user:${userId}`, {
          first_factor: firstFactor,
        }),
      ]),
    sessionEnded: (context, action) => (trx, session) =>
      audit.inTransaction(trx, context, [
        {
          ...entry(session.tenant_id, action, `session:${session.id}`, {
            user_id: session.user_id,
          }),
          outcome: action === 'logout' ? 'success' : 'failure',
        },
      ]),
  };
}

// Deliberately loose (RFC 5321 allows much more); it only has to tell an address from,
// say, a password typed into the wrong field: no spaces, one @, a dot in the domain.
const PLAUSIBLE_EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

/**
 * What `login.failed` keeps of the email typed. People type passwords into the email
 * field, and the trail is read by more people than the password's owner:
 * - the address of a known account: as stored (lower-cased); it names the account;
 * - an address of no account: its domain, the local part redacted to its first
 *   character (`j***@example.com`), still enough to see a credential-stuffing run;
 * - anything else: nothing (null). No hash either: a fast hash of a password is
 *   as good as the password to anyone with a dictionary.
 */
export function auditedEmail(typed: string, knownEmail: string | undefined): string | null {
  if (knownEmail !== undefined) return knownEmail;
  const trimmed = typed.trim();
  if (trimmed.length > 254 || !PLAUSIBLE_EMAIL.test(trimmed)) return null;
  const at = trimmed.lastIndexOf('@');
  return `${trimmed.slice(0, 1)}***${trimmed.slice(at).toLowerCase()}`;
}
