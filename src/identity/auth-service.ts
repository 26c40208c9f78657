import { AccessErrors } from '../access/errors.ts';
import type { Principal } from '../access/principal.ts';
import { SYSTEM_TENANT } from '../access/roles.ts';
import type { AuditContext } from '../audit/audit-entry.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import { HttpErrors } from '../http/errors.ts';
import { TesseraError } from '../platform/errors.ts';
import type { AuthAttempts } from '../protection/auth-attempts.ts';
import {
  type Admission,
  type LoginLockout,
  NO_ACCOUNT,
  NO_LOCKOUT,
} from '../protection/login-lockout.ts';
import type { AnyKysely, DatabaseBase } from '../storage/database.ts';
import { createAuthAudit } from './auth-audit.ts';
import { chooseMembership, invalidCredentials } from './choose-membership.ts';
import { IdentityErrors } from './errors.ts';
import {
  burnPasswordCheck,
  checkPasswordPolicy,
  hashPassword,
  verifyPassword,
} from './passwords.ts';
import type { SessionStore } from './session-store.ts';
import { createUserStore, type User, type UserStore } from './user-store.ts';

/** What a successful login or refresh answers (RFC 6749 §5.1 names). */
export interface TokenSet {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly tenant_id: string;
}

export type IssueAccessToken = (claims: {
  sub: string;
  tid: string;
  roles: readonly string[];
  sid: string;
}) => Promise<{
  token: string;
  expires_in: number;
}>;

export interface AuthServiceDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  readonly auth: Pick<Config['auth'], 'registration' | 'password_min_length'>;
  /** For changes that span stores: a password with its sessions, a sign-up with its audit event. */
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  /** Whether a tenant of this id exists (where a failed login naming it is recorded). */
  readonly tenantExists: (id: string) => Promise<boolean>;
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
}

export interface Me {
  readonly user: User;
  readonly tenant_id: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
}

export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions } = deps;
  const audits = createAuthAudit(deps.audit, deps.tenantExists);
  const lockout = deps.lockout ?? NO_LOCKOUT;
  const attempts = deps.attempts ?? { attempt: () => {} };
  const passwordChecked = deps.onPasswordCheck ?? (() => {});
  const invitedTenants = deps.invitedTenants ?? (async () => []);

  async function tokens(
    userId: string,
    tenantId: string,
    roles: readonly string[],
    started: { session_id: string; refresh_token: string },
  ): Promise<TokenSet> {
    const access = await deps.issueAccessToken({
      sub: userId,
      tid: tenantId,
      roles,
      sid: started.session_id,
    });
    return {
      access_token: access.token,
      refresh_token: started.refresh_token,
      token_type: 'Bearer',
      expires_in: access.expires_in,
      tenant_id: tenantId,
    };
  }

  function checkPolicy(password: string): void {
    const problems = checkPasswordPolicy(password, deps.auth.password_min_length);
    if (problems.length > 0) {
      throw new TesseraError(IdentityErrors.weak_password, problems.join('; '), {
        errors: problems.map((message) => ({ path: '/password', message })),
      });
    }
  }

  async function refreshSession(refreshToken: string, context: AuditContext): Promise<TokenSet> {
    const { session, refresh_token } = await sessions.rotate(
      refreshToken,
      context,
      audits.sessionEnded(context, 'refresh_token.reused'),
    );
    if (session.membership_status === 'deactivated') {
      throw new TesseraError(IdentityErrors.session_revoked, 'Your membership was deactivated.');
    }
    if (session.tenant_status !== 'active') {
      throw new TesseraError(
        AccessErrors.tenant_suspended,
        `Tenant ${session.tenant_id} is suspended.`,
      );
    }
    return tokens(session.user_id, session.tenant_id, session.roles, {
      session_id: session.id,
      refresh_token,
    });
  }

  return {
    /**
     * Unknown email, wrong password, disabled user and locked account answer the same
     * 401, after the same argon2 work, so a stranger learns nothing about which
     * accounts exist or are locked. Only a caller who proved the password of an
     * unlocked account learns about its tenants. A client IP with too many recent
     * failures waits first (lockout.ip_delay_ms, doubling).
     */
    async login(
      input: {
        email: string;
        password: string;
        tenant_id?: string | undefined;
      },
      context: AuditContext,
    ): Promise<TokenSet> {
      await lockout.slowDown(context.ip);
      const found = await users.findCredentials(input.email);
      // An unknown email runs every statement a known one does, against an id no
      // account has (login-lockout.ts NO_ACCOUNT): answer times on PostgreSQL must
      // not tell the two apart (issue 15, item 6).
      const memberships = await users.listMembershipsOfUser(found?.user.id ?? NO_ACCOUNT);
      // Reserved before the password is checked: of any number of concurrent guesses
      // at one account, on any number of nodes, at most max_failures are checked.
      const admission = await lockout.admit(found?.user.id);
      const hash = admission.admitted ? found?.password_hash : undefined;
      let valid: boolean;
      if (hash) {
        passwordChecked();
        valid = await verifyPassword(hash, input.password);
      } else {
        valid = await burnPasswordCheck(input.password);
      }
      if (found && valid) await lockout.succeeded(found.user.id);
      const known = found && { user_id: found.user.id, email: found.user.email, memberships };
      const refused = found !== undefined && !admission.admitted;
      try {
        if (!found || !valid || found.user.status !== 'active') {
          throw invalidCredentials();
        }
        const membership = await chooseMembership(memberships, input.tenant_id, () =>
          invitedTenants(found.user.id),
        );
        if (membership.tenant_status !== 'active') {
          throw new TesseraError(
            AccessErrors.tenant_suspended,
            `Tenant ${membership.tenant_id} is suspended.`,
          );
        }
        const started = await sessions.start(
          found.user.id,
          membership.tenant_id,
          context,
          audits.loggedIn(context),
        );
        const issued = await tokens(found.user.id, membership.tenant_id, membership.roles, started);
        attempts.attempt('password', 'success');
        return issued;
      } catch (error) {
        if (error instanceof TesseraError && error.status < 500) {
          // The trail may say what the caller is never told: that the account is locked.
          await audits.loginFailed(
            context,
            input,
            known,
            refused ? refusedReason(admission) : error.code,
          );
          if (error.code === IdentityErrors.invalid_credentials) {
            // Only a wrong password counts against an account; every refusal counts against the IP.
            await lockout.failed(
              context,
              found && !valid
                ? {
                    user_id: found.user.id,
                    tenant_ids: memberships
                      .filter((m) => !m.tenant_deleted)
                      .map((m) => m.tenant_id),
                  }
                : undefined,
              admission,
            );
          }
          attempts.attempt('password', refused ? 'locked' : 'failure');
        }
        throw error;
      }
    },

    async refresh(refreshToken: string, context: AuditContext): Promise<TokenSet> {
      try {
        const issued = await refreshSession(refreshToken, context);
        attempts.attempt('refresh', 'success');
        return issued;
      } catch (error) {
        if (error instanceof TesseraError && error.status < 500)
          attempts.attempt('refresh', 'failure');
        throw error;
      }
    },

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

    /** Ends every other session of the user: whoever else knew the old password is out. */
    async changePassword(
      principal: Principal,
      input: { current_password: string; new_password: string },
      context: AuditContext,
    ): Promise<void> {
      if (principal.userId === null || principal.sessionId === null)
        throw notForApiKeys('change a password');
      const userId = principal.userId;
      const user = await users.findById(userId);
      const found = user && (await users.findCredentials(user.email));
      if (
        !found?.password_hash ||
        !(await verifyPassword(found.password_hash, input.current_password))
      ) {
        await deps.audit.record(context, [
          {
            ...audits.entry(principal.tenantId, 'password.change_failed', `user:${userId}`),
            outcome: 'failure',
          },
        ]);
        throw invalidCredentials();
      }
      checkPolicy(input.new_password);
      const hash = await hashPassword(input.new_password);
      await sessions.revokeAllOfUser(
        userId,
        'password_changed',
        principal.sessionId,
        async (trx) => {
          await createUserStore({ kysely: trx }).setPasswordHash(userId, hash);
          await deps.audit.inTransaction(trx, context, [
            audits.entry(principal.tenantId, 'password.changed', `user:${userId}`),
          ]);
        },
      );
    },

    /**
     * Creates an identity with no membership: registration never grants a role. It
     * belongs to no tenant yet, so the platform's trail records it.
     */
    async register(
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
      checkPolicy(input.password);
      const passwordHash = await hashPassword(input.password);
      return deps.db.transaction(async (trx: AnyKysely) => {
        const user = await createUserStore({ kysely: trx }).createUser({
          email: input.email,
          name: input.name,
          password_hash: passwordHash,
        });
        await deps.audit.inTransaction(trx, { ...context, actor: user.id, actor_type: 'user' }, [
          audits.entry(SYSTEM_TENANT, 'user.registered', `user:${user.id}`, { email: user.email }),
        ]);
        return user;
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;

/** A known account refused before its password was checked: locked, or its attempts all taken. */
function refusedReason(admission: Admission): string {
  return admission.locked ? 'account_locked' : 'attempts_exhausted';
}

function notForApiKeys(action: string): TesseraError {
  return new TesseraError(
    HttpErrors.bad_request,
    `An API key cannot ${action}; use a user's access token.`,
  );
}
