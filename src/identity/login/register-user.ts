import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config/schema.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { IdentityErrors } from '../errors.ts';
import { createUserService } from '../users/user-service.ts';
import type { User } from '../users/user-store.ts';
import type { AuthAudit } from './auth-audit.ts';
import { hashPassword } from './passwords.ts';
import { requireStrongPassword } from './require-strong-password.ts';

/**
 * Self-service sign-up, moved out of auth-service.ts: it answers to the `auth.registration`
 * setting, not to sessions or lockout, so it shares nothing with the login flows.
 */
export interface RegisterUserDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  readonly audits: AuthAudit;
  readonly auth: Pick<Config['auth'], 'registration' | 'password_min_length'>;
}

export function createRegisterUser(deps: RegisterUserDeps) {
  const { audits } = deps;

  /**
   * Creates an identity with no membership: registration never grants a role. It
   * belongs to no tenant yet, so the platform's trail records it.
   */
  return async function register(
    input: {
      email: string;
      password: string;
      name?: string | undefined;
    },
    context: AuditContext,
  ): Promise<User> {
    if (deps.auth.registration === 'disabled') {
      throw new TesseraError(
        IdentityErrors.registration_disabled,
        'Self-service registration is disabled on this server.',
      );
    }
    if (deps.auth.registration === 'invite') {
      throw new TesseraError(
        IdentityErrors.invitation_required,
        'Registration on this server needs an invitation.',
      );
    }
    requireStrongPassword(input.password, deps.auth.password_min_length);
    const passwordHash = await hashPassword(input.password);
    return deps.db.transaction(async (trx: AnyKysely) => {
      const user = await createUserService({ kysely: trx }).createUser({
        email: input.email,
        name: input.name,
        password_hash: passwordHash,
      });
      await deps.audit.inTransaction(trx, { ...context, actor: user.id, actor_type: 'user' }, [
        audits.entry(SYSTEM_TENANT, 'user.registered', `user:${user.id}`, { email: user.email }),
      ]);
      return user;
    });
  };
}
