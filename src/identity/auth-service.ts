import { AccessErrors } from '../access/errors.ts';
import type { Principal } from '../access/principal.ts';
import type { Config } from '../config/schema.ts';
import { HttpErrors } from '../http/errors.ts';
import { TesseraError } from '../platform/errors.ts';
import { IdentityErrors } from './errors.ts';
import {
  burnPasswordCheck,
  checkPasswordPolicy,
  hashPassword,
  verifyPassword,
} from './passwords.ts';
import type { SessionStore } from './session-store.ts';
import type { User, UserMembership, UserStore } from './user-store.ts';

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
}

export interface Me {
  readonly user: User;
  readonly tenant_id: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
}

export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions } = deps;

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

  return {
    /**
     * Unknown email, wrong password and disabled user answer the same 401, after
     * the same argon2 work, so a stranger learns nothing about which accounts exist.
     * Only a caller who proved the password learns about its tenants.
     */
    async login(input: {
      email: string;
      password: string;
      tenant_id?: string | undefined;
    }): Promise<TokenSet> {
      const found = await users.findCredentials(input.email);
      const valid = found?.password_hash
        ? await verifyPassword(found.password_hash, input.password)
        : await burnPasswordCheck(input.password);
      if (!found || !valid || found.user.status !== 'active') throw invalidCredentials();
      const membership = chooseMembership(
        await users.listMembershipsOfUser(found.user.id),
        input.tenant_id,
      );
      if (membership.tenant_status !== 'active') {
        throw new TesseraError(
          AccessErrors.tenant_suspended,
          `Tenant ${membership.tenant_id} is suspended.`,
        );
      }
      const started = await sessions.start(found.user.id, membership.tenant_id);
      return tokens(found.user.id, membership.tenant_id, membership.roles, started);
    },

    async refresh(refreshToken: string): Promise<TokenSet> {
      const { session, refresh_token } = await sessions.rotate(refreshToken);
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
    },

    async logout(principal: Principal): Promise<void> {
      if (principal.sessionId === null) throw notForApiKeys('log out');
      await sessions.revoke(principal.sessionId, 'logout');
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
    ): Promise<void> {
      if (principal.userId === null || principal.sessionId === null)
        throw notForApiKeys('change a password');
      const user = await users.findById(principal.userId);
      const found = user && (await users.findCredentials(user.email));
      if (
        !found?.password_hash ||
        !(await verifyPassword(found.password_hash, input.current_password))
      )
        throw invalidCredentials();
      checkPolicy(input.new_password);
      await users.setPasswordHash(found.user.id, await hashPassword(input.new_password));
      await sessions.revokeAllOfUser(found.user.id, 'password_changed', principal.sessionId);
    },

    /** Creates an identity with no membership: registration never grants a role. */
    async register(input: {
      email: string;
      password: string;
      name?: string | undefined;
    }): Promise<User> {
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
      return users.createUser({
        email: input.email,
        name: input.name,
        password_hash: await hashPassword(input.password),
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;

function chooseMembership(
  memberships: readonly UserMembership[],
  tenantId: string | undefined,
): UserMembership {
  const live = memberships.filter((m) => !m.tenant_deleted);
  if (tenantId !== undefined) {
    const named = live.find((m) => m.tenant_id === tenantId);
    if (!named) throw invalidCredentials();
    return named;
  }
  if (live.length === 0) {
    throw new TesseraError(
      IdentityErrors.membership_required,
      'Your account belongs to no tenant yet; ask a tenant administrator to add you.',
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

function invalidCredentials(): TesseraError {
  return new TesseraError(IdentityErrors.invalid_credentials, 'The email or password is wrong.');
}

function notForApiKeys(action: string): TesseraError {
  return new TesseraError(
    HttpErrors.bad_request,
    `An API key cannot ${action}; use a user's access token.`,
  );
}
