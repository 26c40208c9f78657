import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import type { SignInOf, TenantSignIn, UserMembership } from '../tenancy-port.ts';

/**
 * Whether the tenant lets this user in only through its SSO connections (issue 20):
 * it enforces SSO and the user is not one of its break-glass administrators, who
 * keep every login so that an IdP outage cannot lock the tenant out.
 */
export function ssoRequiredFor(settings: TenantSignIn | undefined, userId: string): boolean {
  return settings?.sso_enforced === true && !settings.sso_break_glass.includes(userId);
}

/** A federated sign-in's proof (RFC 8176 `fed`): SSO enforcement never refuses it. */
export function isFederated(amr: readonly string[]): boolean {
  return amr.includes('fed');
}

export function ssoRequired(tenantId: string): TesseraError {
  return new TesseraError(
    IdentityErrors.sso_required,
    `Tenant ${tenantId} signs its members in through their organization’s single sign-on only: sign in with your organization’s SSO (POST /api/v1/auth/sso/discover finds it from your email address).`,
  );
}

/** Throws 403 sso_required when the tenant admits this user through SSO only. */
export async function checkSsoNotRequired(
  signInOf: SignInOf,
  tenantId: string,
  userId: string,
): Promise<void> {
  if (ssoRequiredFor(await signInOf(tenantId), userId)) throw ssoRequired(tenantId);
}

/**
 * The memberships a non-federated login may choose from when it names no tenant:
 * those whose tenant does not require SSO of this user. When every active one does,
 * 403 sso_required (naming the first), so the user learns to use SSO rather than
 * that they belong nowhere. Asked only after the first factor is proved.
 */
export async function withoutSsoOnlyTenants(
  memberships: readonly UserMembership[],
  signInOf: SignInOf,
  userId: string,
): Promise<readonly UserMembership[]> {
  const active = memberships.filter((m) => !m.tenant_deleted && m.membership_status === 'active');
  const required = new Set<string>();
  for (const membership of active) {
    if (ssoRequiredFor(await signInOf(membership.tenant_id), userId)) {
      required.add(membership.tenant_id);
    }
  }
  if (required.size === 0) return memberships;
  if (required.size === active.length) throw ssoRequired([...required][0] as string);
  return memberships.filter((m) => !required.has(m.tenant_id));
}
