import type { AuditContext } from '../../access/audit-context.ts';
import { AccessErrors } from '../../access/errors.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import {
  type Admission,
  type LoginLockout,
  NO_ACCOUNT,
} from '../../protection/lockout/login-lockout.ts';
import { IdentityErrors } from '../errors.ts';
import type { MfaChallenge, SecondStepGate } from '../mfa/second-step/mfa-challenge.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { PASSWORD_PROOF } from '../sessions/sign-in-proof.ts';
import type { MembershipsOfUser, SignInOf } from '../tenancy-port.ts';
import { type IssueAccessToken, issueTokenSet, type TokenSet } from '../tokens/issue-token-set.ts';
import type { UserService } from '../users/user-service.ts';
import type { AuthAudit } from './auth-audit.ts';
import { chooseMembership, invalidCredentials } from './choose-membership.ts';
import { burnPasswordCheck, verifyPassword } from './passwords.ts';
import { checkSsoNotRequired, withoutSsoOnlyTenants } from './sso-enforcement.ts';

/**
 * The login flow, moved out of auth-service.ts: it is the one place that weighs lockout,
 * timing and what a stranger may learn, so it reads best alone. Defaults (no lockout, no
 * invitations, nobody counting) are resolved by createAuthService before they get here.
 */
export interface PasswordLoginDeps {
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  readonly audits: AuthAudit;
  readonly lockout: LoginLockout;
  readonly attempts: Pick<AuthAttempts, 'attempt'>;
  readonly passwordChecked: () => void;
  readonly invitedTenants: (userId: string) => Promise<readonly string[]>;
  readonly membershipsOf: MembershipsOfUser;
  /** Tenancy's: whether the tenant entered requires a verified email address, or SSO. */
  readonly signInOf: SignInOf;
  /** Asked once the password is proved: an account with a second factor gets an mfa_token. */
  readonly secondStep: SecondStepGate;
}

export function createPasswordLogin(deps: PasswordLoginDeps) {
  const { users, sessions, audits, lockout, attempts, passwordChecked, invitedTenants } = deps;
  const { membershipsOf, signInOf, secondStep } = deps;

  /**
   * Unknown email, wrong password, disabled user and locked account answer the same
   * 401, after the same argon2 work, so a stranger learns nothing about which
   * accounts exist or are locked. Only a caller who proved the password of an
   * unlocked account learns about its tenants. A client IP with too many recent
   * failures waits first (lockout.ip_delay_ms, doubling).
   */
  return async function login(
    input: {
      email: string;
      password: string;
      tenant_id?: string | undefined;
    },
    context: AuditContext,
    /**
     * `firstTenant`: a user of several tenants, naming none, enters their first rather
     * than being refused (the OpenID Provider's hosted page, which lets them choose
     * once signed in).
     */
    options: { firstTenant?: boolean } = {},
  ): Promise<TokenSet | MfaChallenge> {
    await lockout.slowDown(context.ip);
    const found = await users.findCredentials(input.email);
    // An unknown email runs every statement a known one does, against an id no
    // account has (login-lockout.ts NO_ACCOUNT): answer times on PostgreSQL must
    // not tell the two apart (issue 15, item 6).
    const memberships = await membershipsOf(found?.user.id ?? NO_ACCOUNT);
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
      // A tenant enforcing SSO (issue 20) is no candidate when none is named; named, it
      // refuses with sso_required. Only now, with the password proved. A right
      // password refused this way has reset the account's failure count (above) and
      // counts against nothing: it was no guess.
      const membership = await chooseMembership(
        input.tenant_id === undefined
          ? await withoutSsoOnlyTenants(memberships, signInOf, found.user.id)
          : memberships,
        input.tenant_id,
        () => invitedTenants(found.user.id),
        options.firstTenant,
      );
      if (membership.tenant_status !== 'active') {
        throw new TesseraError(
          AccessErrors.tenant_suspended,
          `Tenant ${membership.tenant_id} is suspended.`,
        );
      }
      await checkSsoNotRequired(signInOf, membership.tenant_id, found.user.id);
      // Only now, with the password proved: a stranger must not learn that the account
      // exists and is unverified. Refused like any login, so the trail records it.
      if (
        !found.user.email_verified &&
        (await signInOf(membership.tenant_id))?.require_verified_email
      ) {
        throw new TesseraError(
          IdentityErrors.email_not_verified,
          `Tenant ${membership.tenant_id} requires a verified email address. A password reset or magic link email verifies it, as does the link POST /api/v1/auth/email/verify/request sends.`,
        );
      }
      const challenge = await secondStep.challengeIfDue(
        { userId: found.user.id, tenantId: membership.tenant_id, proof: PASSWORD_PROOF },
        context,
      );
      if (challenge) {
        await audits.secondFactorDue(context, found.user.id, membership.tenant_id, 'password');
        attempts.attempt('password', 'success');
        return challenge;
      }
      const started = await sessions.start(
        found.user.id,
        membership.tenant_id,
        context,
        audits.loggedIn(context),
        PASSWORD_PROOF,
      );
      const issued = await issueTokenSet(
        deps.issueAccessToken,
        found.user.id,
        membership.tenant_id,
        membership.roles,
        started,
        found.user.email_verified,
      );
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
                  tenant_ids: memberships.filter((m) => !m.tenant_deleted).map((m) => m.tenant_id),
                }
              : undefined,
            admission,
          );
        }
        attempts.attempt('password', refused ? 'locked' : 'failure');
      }
      throw error;
    }
  };
}

/** A known account refused before its password was checked: locked, or its attempts all taken. */
function refusedReason(admission: Admission): string {
  return admission.locked ? 'account_locked' : 'attempts_exhausted';
}
