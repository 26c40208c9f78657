import { SYSTEM_TENANT } from '../../access/roles.ts';
import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import type { UserMembership } from '../tenancy-port.ts';

/**
 * The tenant a login enters. Asked only once the password is proved, so it may say
 * what it finds. A user with no membership who is invited somewhere signs in there
 * with no role, to answer the invitation (`/auth/invitations`).
 */
export async function chooseMembership(
  memberships: readonly UserMembership[],
  tenantId: string | undefined,
  invitedTenants: () => Promise<readonly string[]>,
  /** A user of several tenants, naming none, enters the first (in tenant id order) rather than being refused. */
  firstOfSeveral = false,
): Promise<UserMembership> {
  const live = memberships.filter((m) => !m.tenant_deleted);
  if (tenantId !== undefined) {
    const named = live.find((m) => m.tenant_id === tenantId);
    if (named?.membership_status === 'deactivated') throw membershipDeactivated(tenantId);
    if (named) return named;
    if ((await invitedTenants()).includes(tenantId)) return invitee(tenantId);
    throw invalidCredentials();
  }
  // A deactivated membership does not count: the user logs in to the others.
  const active = live.filter((m) => m.membership_status === 'active');
  if (active.length === 0 && live.length > 0) throw membershipDeactivated(undefined);
  if (active.length === 0) {
    const invited = await invitedTenants();
    if (invited.length > 0) return onlyMembership(invited.map(invitee));
  }
  // A platform administrator's home is the system tenant: membership of other tenants
  // (which they accepted) never makes their login without tenant_id fail.
  const system = active.find((m) => m.tenant_id === SYSTEM_TENANT);
  if (!system && firstOfSeveral && active.length > 1) {
    return [...active].sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : 1))[0] as UserMembership;
  }
  return system ?? onlyMembership(active);
}

/**
 * Where an invitee signs in: no role (the session finds no membership row), in a
 * live tenant (`invitedTenants` lists active tenants only).
 */
function invitee(tenantId: string): UserMembership {
  return {
    tenant_id: tenantId,
    roles: [],
    tenant_status: 'active',
    tenant_deleted: false,
    membership_status: 'active',
  };
}

function onlyMembership(live: readonly UserMembership[]): UserMembership {
  if (live.length === 0) {
    throw new TesseraError(
      IdentityErrors.membership_required,
      'Your account belongs to no tenant yet; ask a tenant administrator to invite you.',
    );
  }
  if (live.length > 1) {
    throw new TesseraError(
      IdentityErrors.tenant_required,
      'Your account belongs to several tenants: name one with tenant_id.',
    );
  }
  return live[0] as UserMembership;
}

/** Only a caller who proved the password gets here, so naming the tenant reveals nothing. */
function membershipDeactivated(tenantId: string | undefined): TesseraError {
  return new TesseraError(
    IdentityErrors.membership_deactivated,
    `${tenantId === undefined ? 'Every membership of your account' : `Your membership of tenant ${tenantId}`} is deactivated; ask a tenant administrator.`,
  );
}

export function invalidCredentials(): TesseraError {
  return new TesseraError(IdentityErrors.invalid_credentials, 'The email or password is wrong.');
}
