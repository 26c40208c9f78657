import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { AuditContext } from '../../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../../access/roles.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import { IdentityErrors } from '../../errors.ts';
import { admitAccount, SignInRefusal } from '../../login/sign-in-refusal.ts';
import { ssoRequired, ssoRequiredFor } from '../../login/sso-enforcement.ts';
import { issueTokenSet, type TokenSet } from '../../tokens/issue-token-set.ts';
import { createChallengeStore } from './challenge-store.ts';
import type { PasskeyDeps } from './passkey-deps.ts';
import { passkeyProof } from './passkey-proof.ts';
import type { Passkey } from './passkey-store.ts';
import { passkeysOff } from './relying-party.ts';
import { verifyAssertion } from './verify-assertion.ts';
import { challengeInvalid, challengeOf, verificationFailed } from './webauthn-json.ts';

/** Unknown credential, disabled or locked account, no membership: alike, as a failed login. */
const cannotSignInError = () =>
  new TesseraError(IdentityErrors.invalid_credentials, 'This passkey cannot sign in here.');
const cannotSignIn = (reason: string) => new SignInRefusal(reason, cannotSignInError());

/**
 * The passwordless, usernameless sign-in (WebAuthn Level 2 §7.2 with discoverable
 * credentials): the options name no credential, the authenticator offers the user's
 * passkeys for this RP, and the one chosen says whose it is (its user handle). The
 * session lands in that user's account, in the tenant the passkey was registered in,
 * after the checks a password login makes there. User verification is required, so
 * the session counts as multi-factor (`amr` gets `mfa`).
 */
export function createPasskeyLogin(deps: PasskeyDeps) {
  const { db, users, lockout, attempts, now } = deps;
  const challenges = createChallengeStore(db.kysely, now);

  async function options(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rp = deps.relyingParty;
    if (!rp) throw passkeysOff();
    const issued = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: [],
      userVerification: 'required',
      timeout: deps.challengeTtlSeconds * 1000,
    });
    await challenges.issue(issued.challenge, { purpose: 'login' }, deps.challengeTtlSeconds * 1000);
    return issued;
  }

  /** The passkey's owner and tenant, checked as a password login checks them. */
  async function admit(passkey: Passkey) {
    const user = await users.findById(passkey.user_id);
    if (!user) throw cannotSignIn('user_disabled');
    if (passkey.tenant_id === null) throw cannotSignIn('not_a_member');
    const membership = await admitAccount(
      { lockout, membershipsOf: deps.membershipsOf },
      user,
      passkey.tenant_id,
      cannotSignInError,
    );
    const signIn = await deps.signInOf(membership.tenant_id);
    if (ssoRequiredFor(signIn, user.id)) {
      throw new SignInRefusal('sso_required', ssoRequired(membership.tenant_id));
    }
    if (!user.email_verified && signIn?.require_verified_email) {
      throw new SignInRefusal(
        'email_not_verified',
        new TesseraError(
          IdentityErrors.email_not_verified,
          `Tenant ${membership.tenant_id} requires a verified email address. A password reset or magic link email verifies it, as does the link POST /api/v1/auth/email/verify/request sends.`,
        ),
      );
    }
    return { user, membership };
  }

  async function verify(
    response: AuthenticationResponseJSON,
    context: AuditContext,
  ): Promise<TokenSet> {
    const rp = deps.relyingParty;
    if (!rp) throw passkeysOff();
    await lockout.slowDown(context.ip);
    let passkey: Passkey | undefined;
    try {
      const challenge = challengeOf(response.response.clientDataJSON);
      if (!(await challenges.consume(challenge, { purpose: 'login' }))) {
        throw new SignInRefusal('challenge_invalid', challengeInvalid());
      }
      const checked = await verifyAssertion(db.kysely, rp, response, challenge, {
        requireUserHandle: true,
        now: now(),
      });
      if (!checked.ok) {
        if (checked.reason === 'unknown_passkey' || checked.reason === 'user_handle_mismatch') {
          throw cannotSignIn(checked.reason);
        }
        throw new SignInRefusal(checked.reason, verificationFailed(checked.detail));
      }
      passkey = checked.passkey;
      const { user, membership } = await admit(passkey);
      const used = passkey;
      const started = await deps.sessions.start(
        user.id,
        membership.tenant_id,
        context,
        (trx, session) =>
          loggedIn(trx, { ...context, actor: user.id, actor_type: 'user' }, session, used),
        passkeyProof(passkey.device_type),
      );
      const tokens = await issueTokenSet(
        deps.issueAccessToken,
        user.id,
        membership.tenant_id,
        membership.roles,
        started,
        user.email_verified,
      );
      attempts.attempt('passkey', 'success');
      return tokens;
    } catch (error) {
      const refusal =
        error instanceof SignInRefusal
          ? error
          : error instanceof TesseraError && error.status < 500
            ? new SignInRefusal(error.code, error)
            : undefined;
      if (!refusal) throw error;
      await refused(refusal, passkey, context);
      throw refusal.error;
    }
  }

  /** In the new session's transaction: `login.succeeded`, as the passkey's owner. */
  function loggedIn(
    trx: AnyKysely,
    context: AuditContext,
    session: { id: string; tenant_id: string },
    passkey: Passkey,
  ): Promise<void> {
    return deps.audit.inTransaction(trx, context, [
      {
        tenant_id: session.tenant_id,
        action: 'login.succeeded',
        target: `session:${session.id}`,
        outcome: 'success',
        details: { method: 'passkey', credential_id: passkey.id },
      },
    ]);
  }

  /**
   * `login.failed` (in the passkey's tenant when it is the user's, else `system`),
   * one more failure from the client IP when it was a guess, and the metric.
   */
  async function refused(
    refusal: SignInRefusal,
    passkey: Passkey | undefined,
    context: AuditContext,
  ) {
    const memberships = passkey ? await deps.membershipsOf(passkey.user_id) : [];
    const tenantId =
      memberships.find((m) => !m.tenant_deleted && m.tenant_id === passkey?.tenant_id)?.tenant_id ??
      SYSTEM_TENANT;
    await deps.audit.record({ ...context, actor: null, actor_type: 'anonymous' }, [
      {
        tenant_id: tenantId,
        action: 'login.failed',
        target: passkey ? `user:${passkey.user_id}` : null,
        outcome: 'failure',
        details: {
          method: 'passkey',
          reason: refusal.reason,
          ...(passkey ? { credential_id: passkey.id } : {}),
        },
      },
    ]);
    const guess = refusal.error.status === 400 || refusal.error.status === 401;
    if (guess) await lockout.failed(context, undefined, NOT_ADMITTED);
    attempts.attempt('passkey', refusal.reason === 'account_locked' ? 'locked' : 'failure');
  }

  return { options, verify };
}

/** A refusal that checked no password: `failed` counts it against the IP only. */
const NOT_ADMITTED = { admitted: false, locked: false, attempts: 0 } as const;
