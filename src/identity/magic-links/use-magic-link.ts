import type { AuditContext } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createEmailTokenStore, type EmailTokenGrant } from '../email-tokens/email-token-store.ts';
import { IdentityErrors } from '../errors.ts';
import { admitAccount, SignInRefusal } from '../login/sign-in-refusal.ts';
import { ssoRequired, ssoRequiredFor } from '../login/sso-enforcement.ts';
import type { MfaChallenge } from '../mfa/second-step/mfa-challenge.ts';
import { EMAIL_LINK_PROOF } from '../sessions/sign-in-proof.ts';
import type { TenantSignIn, UserMembership } from '../tenancy-port.ts';
import { issueTokenSet, type TokenSet } from '../tokens/issue-token-set.ts';
import { createUserService } from '../users/user-service.ts';
import type { User } from '../users/user-store.ts';
import { type MagicLinkReason, usedEntry } from './magic-link-audit.ts';
import type { MagicLinkContext } from './magic-link-deps.ts';

/** A signed-in link: the tokens, and where the link's page sends its user with them. */
export interface MagicLinkSignIn {
  /** The token pair, or the second step's challenge when the account has a second factor. */
  readonly tokens: TokenSet | MfaChallenge;
  /** The token's redirect URI, else the tenant's first; undefined when neither exists. */
  readonly redirect: string | undefined;
}

/** What the link's page shows before anything is used (`preview`). */
export type MagicLinkPreview =
  | { readonly ok: false }
  | {
      readonly ok: true;
      readonly email: string;
      readonly tenant_name: string;
      readonly redirect: string | undefined;
    };

/** Everything a use checked, ready to sign in. */
interface Admitted {
  readonly user: User;
  readonly membership: UserMembership;
}

type Refusal = SignInRefusal<MagicLinkReason>;

const invalidLink = (reason: MagicLinkReason): Refusal =>
  new SignInRefusal(
    reason,
    new TesseraError(
      IdentityErrors.email_token_invalid,
      'This sign-in link is unknown, used already, expired, or for an address the account no longer has; ask for a new one.',
    ),
  );

/** Disabled, locked and no longer a member answer alike, as a login would (invalid_credentials). */
const cannotSignIn = () =>
  new TesseraError(
    IdentityErrors.invalid_credentials,
    'This account cannot sign in with this link; sign in another way or ask an administrator.',
  );

/**
 * Where the link's page sends its user: the token's redirect URI while the tenant still
 * allows it (an administrator may have removed it since), else the tenant's first.
 */
function redirectOf(grant: EmailTokenGrant, signIn: TenantSignIn | undefined): string | undefined {
  const allowed = signIn?.redirect_uris ?? [];
  if (grant.redirect_uri !== null) {
    return allowed.includes(grant.redirect_uri) ? grant.redirect_uri : undefined;
  }
  return allowed[0];
}

/**
 * `POST /auth/magic-link/verify` and the link's page. A use reads the token (peek),
 * checks the account as a login would at this moment, then, in the new session's
 * transaction, consumes the token (one DELETE ... RETURNING: of concurrent uses exactly
 * one gets it), marks the address verified and records `magic_link.used`. A refused use
 * spends the token too, in the transaction that records why, and counts against the
 * client IP like a failed login.
 */
export function createUseMagicLink(deps: MagicLinkContext) {
  const { users, membershipsOf, signInOf, lockout, sessions, audit, db, attempts } = deps;
  const { secondStep } = deps;
  const tokensOn = (on: AnyKysely) => createEmailTokenStore(on, deps.now);

  async function admit(grant: EmailTokenGrant): Promise<Admitted> {
    const user = await users.findById(grant.user_id);
    if (!user || user.email !== grant.email) throw invalidLink('email_changed');
    if (grant.tenant_id === null) throw invalidLink('unknown');
    const membership = await admitAccount(
      { lockout, membershipsOf },
      user,
      grant.tenant_id,
      cannotSignIn,
    );
    // Refused like any use, so the link is spent and the trail says why (issue 20).
    if (ssoRequiredFor(await signInOf(membership.tenant_id), user.id)) {
      throw new SignInRefusal('sso_required', ssoRequired(membership.tenant_id));
    }
    return { user, membership };
  }

  async function refused(
    token: string,
    grant: EmailTokenGrant | undefined,
    refusal: Refusal,
    context: AuditContext,
  ): Promise<never> {
    await db.transaction(async (trx: AnyKysely) => {
      await tokensOn(trx).consume('magic_link', token);
      await audit.inTransaction(trx, context, [usedEntry(grant, { reason: refusal.reason })]);
    });
    const guess =
      refusal.error.code === IdentityErrors.email_token_invalid ||
      refusal.error.code === IdentityErrors.invalid_credentials;
    // Like a failed login's, against the IP only: no account's password was tried.
    if (guess) await lockout.failed(context, undefined, NOT_ADMITTED);
    attempts.attempt('magic_link', refusal.reason === 'account_locked' ? 'locked' : 'failure');
    throw refusal.error;
  }

  return {
    /** For the page's GET: changes nothing, so a mail scanner's prefetch uses nothing. */
    async preview(token: string): Promise<MagicLinkPreview> {
      const peeked = await tokensOn(db.kysely).peek('magic_link', token);
      if (!peeked.ok || peeked.grant.tenant_id === null) return { ok: false };
      const signIn = await signInOf(peeked.grant.tenant_id);
      return {
        ok: true,
        email: peeked.grant.email,
        tenant_name: signIn?.tenant_name ?? peeked.grant.tenant_id,
        redirect: redirectOf(peeked.grant, signIn),
      };
    },

    /**
     * Signs in with the link. `redirect: 'required'` (the page, which has nowhere else
     * to send the tokens) refuses a link with no redirect target before using it, with
     * 400 redirect_uri_not_allowed: it still works from the application.
     */
    async use(
      token: string,
      context: AuditContext,
      options: { redirect?: 'required' } = {},
    ): Promise<MagicLinkSignIn> {
      await lockout.slowDown(context.ip);
      const peeked = await tokensOn(db.kysely).peek('magic_link', token);
      const grant = peeked.ok ? peeked.grant : undefined;
      try {
        if (!peeked.ok) throw invalidLink(peeked.reason);
        const tenantId = peeked.grant.tenant_id;
        const redirect = redirectOf(
          peeked.grant,
          tenantId === null ? undefined : await signInOf(tenantId),
        );
        if (options.redirect === 'required' && redirect === undefined) {
          // Not a use: the link stays good for the application to use.
          throw new TesseraError(
            IdentityErrors.redirect_uri_not_allowed,
            'This link must be opened from the application you asked for it in.',
          );
        }
        const { user, membership } = await admit(peeked.grant);
        if (await secondStep.isDue(user.id, EMAIL_LINK_PROOF)) {
          // The link is spent and the address verified now; the session waits for the factor.
          await db.transaction((trx: AnyKysely) =>
            signedIn(trx, token, user, { ...context, actor: user.id, actor_type: 'user' }, null),
          );
          const challenge = await secondStep.challengeIfDue(
            { userId: user.id, tenantId: membership.tenant_id, proof: EMAIL_LINK_PROOF },
            context,
          );
          if (challenge) {
            attempts.attempt('magic_link', 'success');
            return { tokens: challenge, redirect };
          }
        }
        const started = await sessions.start(
          user.id,
          membership.tenant_id,
          context,
          (trx, session) =>
            signedIn(
              trx,
              token,
              user,
              { ...context, actor: user.id, actor_type: 'user' },
              session.id,
            ),
          EMAIL_LINK_PROOF,
        );
        const tokens = await issueTokenSet(
          deps.issueAccessToken,
          user.id,
          membership.tenant_id,
          membership.roles,
          started,
          // The link proved the address, marked verified in the session's transaction.
          true,
        );
        attempts.attempt('magic_link', 'success');
        return { tokens, redirect };
      } catch (error) {
        if (error instanceof SignInRefusal) return refused(token, grant, error as Refusal, context);
        throw error;
      }
    },
  };

  /** In the new session's transaction: the token is spent, the address verified, the use recorded. */
  async function signedIn(
    trx: AnyKysely,
    token: string,
    user: User,
    context: AuditContext,
    sessionId: string | null,
  ): Promise<void> {
    const consumed = await tokensOn(trx).consume('magic_link', token);
    // Used by a concurrent request since it was read: this session is rolled back.
    if (!consumed.ok) throw invalidLink(consumed.reason);
    if (
      !(await createUserService({ kysely: trx }).markEmailVerified(user.id, consumed.grant.email))
    ) {
      throw invalidLink('email_changed');
    }
    await audit.inTransaction(trx, context, [
      usedEntry(consumed.grant, { sessionId, verified: !user.email_verified }),
    ]);
  }
}

/** A use that checked no account's password: `failed` counts it against the IP only. */
const NOT_ADMITTED = { admitted: false, locked: false, attempts: 0 } as const;
