import type { AuditContext } from '../../../access/audit-context.ts';
import { AccessErrors } from '../../../access/errors.ts';
import type { AuditLog } from '../../../audit/audit-log.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import { chooseMembership, invalidCredentials } from '../../login/choose-membership.ts';
import { isFederated, ssoRequired, ssoRequiredFor } from '../../login/sso-enforcement.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { MembershipsOfUser, SignInOf } from '../../tenancy-port.ts';
import {
  type IssueAccessToken,
  issueTokenSet,
  type TokenSet,
} from '../../tokens/issue-token-set.ts';
import type { UserService } from '../../users/user-service.ts';
import { MfaErrors } from '../mfa-errors.ts';
import type { MfaTokenGrant, MfaTokenStore } from '../mfa-token-store.ts';
import type { FactorOutcome, SecondFactorMethod } from '../second-factor.ts';
import { type CheckFactorDeps, checkFactor } from './check-factor.ts';

export interface MfaLoginDeps extends CheckFactorDeps {
  readonly mfaTokens: MfaTokenStore;
  /** The same store on a transaction: the token is spent in the session's. */
  readonly mfaTokensOn: (db: AnyKysely) => MfaTokenStore;
  readonly sessions: SessionStore;
  readonly users: Pick<UserService, 'findById'>;
  readonly membershipsOf: MembershipsOfUser;
  readonly invitedTenants: (userId: string) => Promise<readonly string[]>;
  /** Tenancy's: whether the tenant admits the user through SSO only (issue 20). */
  readonly signInOf: SignInOf;
  readonly issueAccessToken: IssueAccessToken;
  readonly audit: AuditLog;
  /** `login.failed` for a refused second factor (auth-audit.ts). */
  readonly loginFailed: (
    context: AuditContext,
    userId: string,
    tenantId: string,
    reason: string,
  ) => Promise<void>;
}

/** `POST /auth/mfa/verify`'s body. */
export interface MfaVerifyInput {
  readonly mfa_token: string;
  readonly method: SecondFactorMethod;
  readonly code?: string | undefined;
  readonly response?: unknown;
}

/**
 * A login's second step (issue 18, item 4): the mfa_token a first factor earned, and
 * one second factor, make the session. A wrong code counts toward the account's lockout
 * like a wrong password (so a stolen password cannot be paired with guessed codes
 * forever) and leaves the token usable until it expires; the right one spends the
 * token in the session's own transaction, so of concurrent verifications exactly one
 * gets the session, on any node.
 */
export function createMfaLogin(deps: MfaLoginDeps) {
  const { mfaTokens, sessions, audit, attempts } = deps;

  return async function verify(input: MfaVerifyInput, context: AuditContext): Promise<TokenSet> {
    await deps.lockout.slowDown(context.ip);
    const peeked = await mfaTokens.peek(input.mfa_token);
    if (!peeked.ok) throw tokenInvalid(peeked.reason);
    const grant = peeked.grant;
    const outcome = await checkFactor(
      deps,
      grant.user_id,
      input,
      { kind: 'login', mfaTokenDigest: grant.digest },
      context,
      (reason) => deps.loginFailed(context, grant.user_id, grant.tenant_id, `mfa_${reason}`),
      () => tenantsOf(grant.user_id),
    );
    return startSession(input.mfa_token, grant, input.method, outcome, context);
  };

  async function tenantsOf(userId: string): Promise<string[]> {
    const memberships = await deps.membershipsOf(userId);
    return memberships.filter((m) => !m.tenant_deleted).map((m) => m.tenant_id);
  }

  /** The account may have changed since the first factor: it is weighed again, as a login would. */
  async function startSession(
    token: string,
    grant: MfaTokenGrant,
    method: SecondFactorMethod,
    outcome: Extract<FactorOutcome, { ok: true }>,
    context: AuditContext,
  ): Promise<TokenSet> {
    const user = await deps.users.findById(grant.user_id);
    if (user?.status !== 'active') throw invalidCredentials();
    const membership = await chooseMembership(
      await deps.membershipsOf(grant.user_id),
      grant.tenant_id,
      () => deps.invitedTenants(grant.user_id),
    );
    if (membership.tenant_status !== 'active') {
      throw new TesseraError(
        AccessErrors.tenant_suspended,
        `Tenant ${grant.tenant_id} is suspended.`,
      );
    }
    // The tenant may have started enforcing SSO since the first factor (issue 20). The
    // token stays unspent, like a wrong code's; the right code counted against nothing.
    if (
      !isFederated(grant.amr) &&
      ssoRequiredFor(await deps.signInOf(grant.tenant_id), grant.user_id)
    ) {
      await deps.loginFailed(context, grant.user_id, grant.tenant_id, 'sso_required');
      throw ssoRequired(grant.tenant_id);
    }
    const proof = { amr: [...grant.amr, ...outcome.proof.amr], secondFactor: true };
    const started = await sessions.start(
      grant.user_id,
      grant.tenant_id,
      context,
      async (trx, session) => {
        // Spent here, so a second verification racing this one rolls its session back.
        const spent = await deps.mfaTokensOn(trx).consume(token);
        if (!spent.ok) throw tokenInvalid(spent.reason);
        await audit.inTransaction(trx, { ...context, actor: user.id, actor_type: 'user' }, [
          {
            tenant_id: session.tenant_id,
            action: 'login.succeeded',
            target: `session:${session.id}`,
            outcome: 'success',
            details: { method, amr: proof.amr, ...(outcome.detail ?? {}) },
          },
        ]);
      },
      proof,
    );
    attempts.attempt(method, 'success');
    return issueTokenSet(
      deps.issueAccessToken,
      grant.user_id,
      grant.tenant_id,
      membership.roles,
      started,
      user.email_verified,
    );
  }
}

export function tokenInvalid(reason: 'unknown' | 'expired'): TesseraError {
  return new TesseraError(
    MfaErrors.mfa_token_invalid,
    reason === 'expired'
      ? 'This sign-in took too long: the mfa_token expired. Sign in again.'
      : 'This mfa_token is unknown or already used. Sign in again.',
  );
}
