import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { auditedEmail } from '../login/auth-audit.ts';
import type { UserMembership } from '../tenancy-port.ts';

/** Why a magic link was not sent, or not honoured; only the trail is told. */
export type MagicLinkReason =
  | 'unknown_email'
  | 'user_disabled'
  | 'account_locked'
  | 'not_a_member'
  | 'membership_deactivated'
  | 'membership_required'
  | 'tenant_required'
  | 'tenant_suspended'
  | 'redirect_uri_not_allowed'
  | 'unknown'
  | 'expired'
  | 'email_changed'
  | 'sso_required';

/** The account a request named, if one has the address, with its tenants. */
export interface RequestingAccount {
  readonly user_id: string;
  readonly email: string;
  readonly memberships: readonly UserMembership[];
}

/**
 * `magic_link.requested`, success when an email went, failure when none did (with the
 * reason). The entry goes to the tenant the link is for; without one, to the tenant
 * named, else the account's first live tenant, else the platform's (`system`).
 *
 * A tenant named by the caller but not the account's must not learn the account
 * exists (anyone can name any tenant): its trail gets the address redacted as for an
 * unknown one (`auditedEmail`), no target, and `not_a_member` whether or not any
 * account has the address.
 */
export function requestedEntry(
  request: { email: string; tenant_id?: string | undefined; redirect_uri?: string | undefined },
  account: RequestingAccount | undefined,
  outcome: { sentTo: string } | { reason: MagicLinkReason; namedTenant: string | undefined },
): AuditEntry {
  const live = account?.memberships.filter((m) => !m.tenant_deleted) ?? [];
  const tenantId =
    'sentTo' in outcome
      ? outcome.sentTo
      : (outcome.namedTenant ?? live[0]?.tenant_id ?? SYSTEM_TENANT);
  const seen =
    account !== undefined &&
    (tenantId === SYSTEM_TENANT || live.some((m) => m.tenant_id === tenantId));
  const reason =
    'reason' in outcome &&
    (seen || outcome.namedTenant === undefined || outcome.reason === 'redirect_uri_not_allowed'
      ? outcome.reason
      : 'not_a_member');
  return {
    tenant_id: tenantId,
    action: 'magic_link.requested',
    target: seen ? `user:${account.user_id}` : null,
    outcome: reason ? 'failure' : 'success',
    details: {
      email: auditedEmail(request.email, seen ? account.email : undefined),
      mail_sent: !reason,
      ...(reason ? { reason } : {}),
      ...(request.redirect_uri === undefined ? {} : { redirect_uri: request.redirect_uri }),
    },
  };
}

/**
 * `magic_link.used`: success (target: the new session) or failure with the reason, in
 * the trail of the tenant the link was for (`system` for a token nobody issued).
 */
export function usedEntry(
  grant: { user_id: string; tenant_id: string | null; email: string } | undefined,
  outcome: { sessionId: string | null; verified: boolean } | { reason: MagicLinkReason },
): AuditEntry {
  const failed = 'reason' in outcome;
  return {
    tenant_id: grant?.tenant_id ?? SYSTEM_TENANT,
    action: 'magic_link.used',
    target: failed
      ? grant
        ? `user:${grant.user_id}`
        : null
      : outcome.sessionId === null
        ? `user:${grant?.user_id}`
        : `session:${outcome.sessionId}`,
    outcome: failed ? 'failure' : 'success',
    details: failed
      ? { ...(grant ? { user_id: grant.user_id, email: grant.email } : {}), reason: outcome.reason }
      : {
          user_id: grant?.user_id ?? null,
          email: grant?.email ?? null,
          email_verified_now: outcome.verified,
          // null: the account has a second factor, which POST /auth/mfa/verify asks for.
          ...(outcome.sessionId === null ? { second_factor_required: true } : {}),
        },
  };
}
