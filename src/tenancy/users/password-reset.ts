import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { RevokeAllSessionsOfUser, User } from '../../identity/identity-port.ts';
import { checkPasswordPolicy, hashPassword } from '../../identity/login/passwords.ts';
import { createUserService, type UserService } from '../../identity/users/user-service.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';

export interface PasswordResetDeps {
  readonly users: Pick<UserService, 'findByEmail'>;
  /** Its `revokeAllOfUser` runs the reset's transaction and tells the credential cache after. */
  readonly sessions: { readonly revokeAllOfUser: RevokeAllSessionsOfUser };
  readonly audit: AuditLog;
  readonly passwordMinLength: number;
}

export interface PasswordReset {
  readonly user: User;
  /** The trails that recorded it: the user's tenants, or `system` when they have none. */
  readonly audited_in: string[];
}

/**
 * An operator sets a user's password without knowing the old one (`tessera user
 * set-password`). Every session of the user, in every tenant, ends in the same
 * transaction: whoever knew the old password is out. Throws 400 `weak_password`,
 * 404 `user_not_found`.
 */
export function createPasswordReset(deps: PasswordResetDeps) {
  return async function resetPassword(
    context: AuditContext,
    email: string,
    password: string,
  ): Promise<PasswordReset> {
    const problems = checkPasswordPolicy(password, deps.passwordMinLength);
    if (problems.length > 0) {
      throw new TesseraError(IdentityErrors.weak_password, `the password ${problems.join('; ')}`, {
        errors: problems.map((message) => ({ path: '/password', message })),
      });
    }
    const user = await deps.users.findByEmail(email);
    if (!user) {
      throw new TesseraError(IdentityErrors.user_not_found, `no user has the email ${email}`);
    }
    // Hashed before the transaction: argon2 takes tens of milliseconds, locks should not.
    const hash = await hashPassword(password);
    let auditedIn: string[] = [];
    await deps.sessions.revokeAllOfUser(user.id, 'password_reset', undefined, async (trx) => {
      auditedIn = await setHash(trx, user.id, hash);
      const entries = auditedIn.map(
        (tenantId): AuditEntry => ({
          tenant_id: tenantId,
          action: 'user.password_reset',
          target: `user:${user.id}`,
          outcome: 'success',
          details: { email: user.email },
        }),
      );
      // Last: the audit append holds the event log's write lock until the commit.
      await deps.audit.inTransaction(trx, context, entries);
    });
    return { user, audited_in: auditedIn };
  };
}

/** Sets the hash (404 if the user was erased meanwhile); returns the trails to audit in. */
async function setHash(trx: AnyKysely, userId: string, hash: string): Promise<string[]> {
  await createUserService({ kysely: trx }).setPasswordHash(userId, hash);
  const tenants = (await createMembershipStore({ kysely: trx }).listOfUser(userId))
    .filter((membership) => !membership.tenant_deleted)
    .map((membership) => membership.tenant_id);
  return tenants.length > 0 ? tenants : [SYSTEM_TENANT_ID];
}
