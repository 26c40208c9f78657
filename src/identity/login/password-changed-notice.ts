import type { EmailRequest } from '../../email/mailer.ts';

/**
 * The `password_changed` email to the account's owner, whoever changed the password
 * (the owner signed in, or a reset link): if it was not them, they learn at once.
 * One builder for both flows, so both say the same.
 */
export function passwordChangedNotice(
  user: { readonly email: string; readonly name: string | null },
  tenantId: string | null,
  ip: string | null,
  atMs: number,
): EmailRequest {
  return {
    kind: 'password_changed',
    to: user.email,
    tenantId,
    values: { name: user.name ?? '', changed_at: new Date(atMs).toISOString(), ip: ip ?? '' },
  };
}
