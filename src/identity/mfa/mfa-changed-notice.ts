import type { EmailRequest } from '../../email/mailer.ts';

/**
 * The `mfa_changed` email to the account's owner whenever its second factors change
 * or a recovery code is spent (issue 18): a factor added or removed, codes
 * regenerated, a reset by an administrator. If it was not them, they learn at once.
 * `change` is one sentence saying what happened.
 */
export function mfaChangedNotice(
  user: { readonly email: string; readonly name: string | null },
  tenantId: string | null,
  change: string,
  ip: string | null,
  atMs: number,
): EmailRequest {
  return {
    kind: 'mfa_changed',
    to: user.email,
    tenantId,
    values: {
      name: user.name ?? '',
      change,
      changed_at: new Date(atMs).toISOString(),
      ip: ip ?? '',
    },
  };
}
