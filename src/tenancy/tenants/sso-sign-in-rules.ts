import { TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';
import type { SignInSettings, TenantSignIn } from './sign-in-settings-store.ts';

/** Whether the tenant has an enabled SSO connection: the sso domain's answer, wired by the composition root. */
export type HasEnabledSsoConnection = (tenantId: string) => Promise<boolean>;

/** How many break-glass administrators a tenant may name (the route's schema says the same). */
export const MAX_BREAK_GLASS = 20;
/** The longest `sso_deprovision_days`: ten years. */
export const MAX_DEPROVISION_DAYS = 3650;

type SsoChanges = Partial<
  Pick<SignInSettings, 'sso_enforced' | 'sso_break_glass' | 'sso_deprovision_days'>
>;

/** What the route's schema checks, again for the CLI and tests, which call the service directly. */
export function checkSsoShapes(changes: SsoChanges): void {
  const list = changes.sso_break_glass;
  if (list !== undefined) {
    if (list.length > MAX_BREAK_GLASS) {
      throw validationFailed([
        { path: '/sso_break_glass', message: `must NOT have more than ${MAX_BREAK_GLASS} items` },
      ]);
    }
    const seen = new Set<string>();
    for (const [index, id] of list.entries()) {
      if (typeof id !== 'string' || id === '' || seen.has(id)) {
        throw validationFailed([
          { path: `/sso_break_glass/${index}`, message: 'must be a distinct user id' },
        ]);
      }
      seen.add(id);
    }
  }
  const days = changes.sso_deprovision_days;
  if (
    days !== undefined &&
    days !== null &&
    !(Number.isInteger(days) && days >= 1 && days <= MAX_DEPROVISION_DAYS)
  ) {
    throw validationFailed([
      {
        path: '/sso_deprovision_days',
        message: `must be an integer from 1 to ${MAX_DEPROVISION_DAYS}, or null`,
      },
    ]);
  }
}

/**
 * The rules of enforcing SSO (issue 20), checked on `trx` before the change is written:
 * every break-glass id named is an active member holding `admin` (they are who keeps
 * the tenant reachable when its IdP is down); enforcing needs at least one of them and,
 * when being turned on, an enabled SSO connection to sign everyone else in. A
 * connection disabled meanwhile locks nobody out: the break-glass admins remain.
 */
export async function checkSsoRules(
  trx: AnyKysely,
  current: TenantSignIn,
  changes: SsoChanges,
  /** Asked before the transaction (on SQLite, its one connection is the transaction's). */
  ssoConfigured: boolean,
): Promise<void> {
  const members = createMembershipStore({ kysely: trx });
  for (const [index, userId] of (changes.sso_break_glass ?? []).entries()) {
    const standing = await members.standing(current.tenant_id, userId);
    if (standing?.membership_status !== 'active' || !standing.roles?.includes('admin')) {
      throw new TesseraError(
        TenancyErrors.break_glass_not_admin,
        `sso_break_glass[${index}] is not an active administrator (role admin) of tenant ${current.tenant_id}.`,
        {
          errors: [
            { path: `/sso_break_glass/${index}`, message: 'not an active admin of this tenant' },
          ],
        },
      );
    }
  }
  const enforced = changes.sso_enforced ?? current.sso_enforced;
  if (!enforced) return;
  const breakGlass = changes.sso_break_glass ?? current.sso_break_glass;
  if (breakGlass.length === 0) {
    throw new TesseraError(
      TenancyErrors.break_glass_required,
      'A tenant enforcing SSO names at least one break-glass administrator in sso_break_glass, who can still sign in when the identity provider cannot.',
      { errors: [{ path: '/sso_break_glass', message: 'must name an administrator' }] },
    );
  }
  if (changes.sso_enforced === true && !ssoConfigured) {
    throw new TesseraError(
      TenancyErrors.sso_not_configured,
      `Tenant ${current.tenant_id} has no enabled SSO connection: add one (POST /api/v1/sso/connections) before enforcing SSO.`,
      { errors: [{ path: '/sso_enforced', message: 'no enabled SSO connection' }] },
    );
  }
}
