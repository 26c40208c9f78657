import { AccessErrors } from '../../access/errors.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { LoginLockout } from '../../protection/lockout/login-lockout.ts';
import { IdentityErrors } from '../errors.ts';
import type { MembershipsOfUser, UserMembership } from '../tenancy-port.ts';
import type { User } from '../users/user-store.ts';
import { chooseMembership } from './choose-membership.ts';

/** A sign-in refused: what the caller is told (`error`), and what only the trail learns (`reason`). */
export class SignInRefusal<Reason extends string = string> extends Error {
  readonly reason: Reason;
  readonly error: TesseraError;
  constructor(reason: Reason, error: TesseraError) {
    super(error.detail);
    this.reason = reason;
    this.error = error;
  }
}

/** Why `admitAccount` refused. */
export type AdmissionReason =
  | 'user_disabled'
  | 'account_locked'
  | 'not_a_member'
  | 'membership_deactivated'
  | 'tenant_suspended';

export interface AccountAdmissionDeps {
  readonly lockout: Pick<LoginLockout, 'isLocked'>;
  readonly membershipsOf: MembershipsOfUser;
}

/**
 * The account and tenant of a sign-in that checks no password (a magic link, a
 * passkey), checked as a password login checks them: active, not locked, a member of
 * `tenantId`, the tenant active. Disabled, locked and not a member answer alike
 * (`cannotSignIn`, the caller's wording of a failed login); only the trail says which.
 */
export async function admitAccount(
  deps: AccountAdmissionDeps,
  user: User,
  tenantId: string,
  cannotSignIn: () => TesseraError,
): Promise<UserMembership> {
  const refuse = (reason: AdmissionReason, error = cannotSignIn()) =>
    new SignInRefusal(reason, error);
  if (user.status !== 'active') throw refuse('user_disabled');
  if (await deps.lockout.isLocked(user.id)) throw refuse('account_locked');
  let membership: UserMembership;
  try {
    membership = await chooseMembership(
      await deps.membershipsOf(user.id),
      tenantId,
      async () => [],
    );
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    if (error.code === IdentityErrors.membership_deactivated) {
      throw refuse('membership_deactivated', error);
    }
    throw refuse('not_a_member');
  }
  if (membership.tenant_status !== 'active') {
    throw refuse(
      'tenant_suspended',
      new TesseraError(AccessErrors.tenant_suspended, `Tenant ${tenantId} is suspended.`),
    );
  }
  return membership;
}
