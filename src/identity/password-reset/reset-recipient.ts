import type { UserMembership } from '../tenancy-port.ts';
import type { User } from '../users/user-store.ts';

/** Whether a forgotten-password request sends an email, and whose branding it wears. */
export type ResetRecipient =
  | { readonly send: true; readonly user: User; readonly tenant_id: string | null }
  | {
      readonly send: false;
      readonly reason: 'unknown_email' | 'account_disabled' | 'not_a_member';
    };

/**
 * Who gets a reset email. Naming a tenant: only an active member of it (not deleted),
 * with its branding, so a tenant's login page cannot be used to mail people of
 * another. Naming none: the user's one tenant's branding if they have exactly one
 * (live) membership, else the platform's defaults (null).
 */
export function resetRecipient(
  user: User | undefined,
  memberships: readonly UserMembership[],
  tenantId: string | undefined,
): ResetRecipient {
  if (!user) return { send: false, reason: 'unknown_email' };
  if (user.status !== 'active') return { send: false, reason: 'account_disabled' };
  const live = memberships.filter((m) => !m.tenant_deleted);
  if (tenantId !== undefined) {
    const member = live.some((m) => m.tenant_id === tenantId && m.membership_status === 'active');
    return member
      ? { send: true, user, tenant_id: tenantId }
      : { send: false, reason: 'not_a_member' };
  }
  const only = live.length === 1 ? live[0] : undefined;
  return { send: true, user, tenant_id: only?.tenant_id ?? null };
}
