import type { AuditContext } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config/schema.ts';
import type { Mailer } from '../../email/mailer.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import { type LoginLockout, NO_LOCKOUT } from '../../protection/lockout/login-lockout.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import { NO_SECOND_STEP, type SecondStepGate } from '../mfa/second-step/mfa-challenge.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { createTokenRefresh } from '../sessions/token-refresh.ts';
import type { MembershipsOfUser, NewAccountPlacement, SignInOf } from '../tenancy-port.ts';
import type { IssueAccessToken } from '../tokens/issue-token-set.ts';
import type { UserService } from '../users/user-service.ts';
import type { User } from '../users/user-store.ts';
import { createAuthAudit } from './auth-audit.ts';
import { createChangePassword } from './change-password.ts';
import { notForApiKeys } from './not-for-api-keys.ts';
import { createPasswordLogin } from './password-login.ts';
import { createRegisterUser } from './register-user.ts';

// Re-exported so callers keep importing the auth types from here.
export type { IssueAccessToken, TokenSet } from '../tokens/issue-token-set.ts';

export interface AuthServiceDeps {
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  readonly auth: Pick<
    Config['auth'],
    'registration' | 'password_min_length' | 'email_verification_ttl_seconds'
  >;
  /** For changes that span stores: a password with its sessions, a sign-up with its audit event. */
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  /** Whether a tenant of this id exists (where a failed login naming it is recorded). */
  readonly tenantExists: (id: string) => Promise<boolean>;
  /** Tenancy's: the tenants a user belongs to, which a login chooses from. */
  readonly membershipsOf: MembershipsOfUser;
  /** Tenancy's: a tenant's sign-in settings (a login checks `require_verified_email`). */
  readonly signInOf: SignInOf;
  /**
   * Outgoing email: a password change's `password_changed` notice, a sign-up's
   * verification or `account_exists`.
   */
  readonly mailer: Mailer;
  /** Failed-login counting, account locks and IP slowing; default: none. */
  readonly lockout?: LoginLockout | undefined;
  /**
   * The live tenants that invite the user (pending invitations): where a user with no
   * membership may sign in, with no role, to answer them. Default: none.
   */
  readonly invitedTenants?: ((userId: string) => Promise<readonly string[]>) | undefined;
  /** Told of every login and refresh and how it ended (`auth_attempts_total`). */
  readonly attempts?: Pick<AuthAttempts, 'attempt'> | undefined;
  /** Told before every check of a password against an account's own hash (tests count them). */
  readonly onPasswordCheck?: (() => void) | undefined;
  /** Asked once a password is proved; default: no second factor is ever due. */
  readonly secondStep?: SecondStepGate | undefined;
  /** Tenancy's: where a self-registered account goes; default: no tenant. */
  readonly newAccounts?: NewAccountPlacement | undefined;
}

export interface Me {
  readonly user: User;
  readonly tenant_id: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
}

/**
 * Wires the flows, each in its own file (password-login.ts, token-refresh.ts,
 * change-password.ts, register-user.ts), and resolves the optional deps' defaults once.
 * Logout and me stay here: each is a few lines with nothing to share.
 */
export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions, issueAccessToken } = deps;
  const audits = createAuthAudit(deps.audit, deps.tenantExists);
  const attempts = deps.attempts ?? { attempt: () => {} };

  return {
    login: createPasswordLogin({
      users,
      sessions,
      issueAccessToken,
      audits,
      attempts,
      lockout: deps.lockout ?? NO_LOCKOUT,
      passwordChecked: deps.onPasswordCheck ?? (() => {}),
      invitedTenants: deps.invitedTenants ?? (async () => []),
      membershipsOf: deps.membershipsOf,
      signInOf: deps.signInOf,
      secondStep: deps.secondStep ?? NO_SECOND_STEP,
    }),

    refresh: createTokenRefresh({ sessions, issueAccessToken, audits, attempts, users }),

    async logout(principal: Principal, context: AuditContext): Promise<void> {
      if (principal.sessionId === null) throw notForApiKeys('log out');
      await sessions.revoke(principal.sessionId, 'logout', audits.sessionEnded(context, 'logout'));
    },

    async me(principal: Principal): Promise<Me> {
      const user = principal.userId === null ? undefined : await users.findById(principal.userId);
      if (!user || principal.kind !== 'user') throw notForApiKeys('describe a user');
      return {
        user,
        tenant_id: principal.tenantId,
        roles: principal.roles,
        permissions: [...principal.permissions].sort(),
      };
    },

    changePassword: createChangePassword({
      users,
      sessions,
      audit: deps.audit,
      audits,
      auth: deps.auth,
      mailer: deps.mailer,
    }),

    register: createRegisterUser({
      db: deps.db,
      audit: deps.audit,
      audits,
      auth: deps.auth,
      mailer: deps.mailer,
      newAccounts: deps.newAccounts,
    }),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
