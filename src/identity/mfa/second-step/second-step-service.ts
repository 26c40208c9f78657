import type { AuditLog } from '../../../audit/audit-log.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { LoginLockout } from '../../../protection/lockout/login-lockout.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { MembershipsOfUser, SignInOf } from '../../tenancy-port.ts';
import type { IssueAccessToken } from '../../tokens/issue-token-set.ts';
import type { UserService } from '../../users/user-service.ts';
import { createMfaTokenStore } from '../mfa-token-store.ts';
import type { SecondFactorVerifier } from '../second-factor.ts';
import { createFactorRegistry } from './factor-registry.ts';
import { createSecondStepGate } from './mfa-challenge.ts';
import { createMfaLogin } from './mfa-login.ts';
import { createStepUp } from './step-up.ts';

export interface SecondStepDeps {
  readonly db: { readonly kysely: AnyKysely };
  /** Every second factor's verifier (TOTP, recovery codes, passkeys). */
  readonly verifiers: readonly SecondFactorVerifier[];
  readonly sessions: SessionStore;
  readonly users: Pick<UserService, 'findById'>;
  readonly membershipsOf: MembershipsOfUser;
  readonly invitedTenants: (userId: string) => Promise<readonly string[]>;
  /** Tenancy's: whether the tenant admits the user through SSO only (issue 20). */
  readonly signInOf: SignInOf;
  readonly issueAccessToken: IssueAccessToken;
  readonly lockout: LoginLockout;
  readonly attempts: Pick<AuthAttempts, 'attempt'>;
  readonly audit: AuditLog;
  readonly settings: { readonly token_ttl_seconds: number; readonly step_up_seconds: number };
  readonly now?: (() => number) | undefined;
}

/**
 * A sign-in's second step and step-up (issue 18, items 4 and 5), over whichever
 * factors the server has: the gate first factors pass through, `POST /auth/mfa/verify`
 * and `POST /auth/mfa/step-up`.
 */
export function createSecondStep(deps: SecondStepDeps) {
  const now = deps.now ?? Date.now;
  const registry = createFactorRegistry(deps.verifiers);
  const mfaTokensOn = (db: AnyKysely) => createMfaTokenStore(db, now);
  const mfaTokens = mfaTokensOn(deps.db.kysely);
  const tenantsOf = async (userId: string) =>
    (await deps.membershipsOf(userId)).filter((m) => !m.tenant_deleted).map((m) => m.tenant_id);
  const checking = { registry, lockout: deps.lockout, attempts: deps.attempts };
  return {
    /** Where every first factor (password, magic link) asks whether a second is due. */
    gate: createSecondStepGate({
      registry,
      mfaTokens,
      tokenTtlSeconds: deps.settings.token_ttl_seconds,
    }),
    /** The methods a user has ready (`GET /auth/mfa`, a login's challenge). */
    methodsOf: registry.methodsOf,
    /** What the mfa_token stands for, unspent (a passkey's second-step challenge is bound to it). */
    peekToken: (token: string) => mfaTokens.peek(token),
    verify: createMfaLogin({
      ...checking,
      mfaTokens,
      mfaTokensOn,
      sessions: deps.sessions,
      users: deps.users,
      membershipsOf: deps.membershipsOf,
      invitedTenants: deps.invitedTenants,
      signInOf: deps.signInOf,
      issueAccessToken: deps.issueAccessToken,
      audit: deps.audit,
      loginFailed: (context, userId, tenantId, reason) =>
        deps.audit.record({ ...context, actor: null, actor_type: 'anonymous' }, [
          {
            tenant_id: tenantId,
            action: 'login.failed',
            target: `user:${userId}`,
            outcome: 'failure',
            details: { reason },
          },
        ]),
    }),
    stepUp: createStepUp({
      ...checking,
      sessions: deps.sessions,
      audit: deps.audit,
      stepUpSeconds: deps.settings.step_up_seconds,
      tenantsOf,
    }),
  };
}

export type SecondStep = ReturnType<typeof createSecondStep>;
