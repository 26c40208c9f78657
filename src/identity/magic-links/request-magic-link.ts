import type { AuditContext } from '../../access/audit-context.ts';
import { durationWords } from '../../email/templates/duration-words.ts';
import { TesseraError } from '../../platform/errors.ts';
import { NO_ACCOUNT } from '../../protection/lockout/login-lockout.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createEmailTokenStore } from '../email-tokens/email-token-store.ts';
import { IdentityErrors } from '../errors.ts';
import { chooseMembership } from '../login/choose-membership.ts';
import { ssoRequiredFor, withoutSsoOnlyTenants } from '../login/sso-enforcement.ts';
import type { TenantSignIn, UserMembership } from '../tenancy-port.ts';
import type { User } from '../users/user-store.ts';
import {
  type MagicLinkReason,
  type RequestingAccount,
  requestedEntry,
} from './magic-link-audit.ts';
import type { MagicLinkContext } from './magic-link-deps.ts';

/** Where the emailed link leads: the page that shows a Sign in button (magic-link-page-routes.ts). */
export const MAGIC_LINK_PAGE = '/auth/magic-link';

export interface MagicLinkRequest {
  readonly email: string;
  readonly tenant_id?: string | undefined;
  readonly redirect_uri?: string | undefined;
}

/**
 * What only server code may add to a request (never the JSON API's body, so no caller
 * can make an email link somewhere else): the hosted sign-in of an authorization
 * request asks for a link back into that request.
 */
export interface MagicLinkContinuation {
  /** The path the emailed link opens instead of MAGIC_LINK_PAGE (this server's own). */
  readonly continuePath?: string | undefined;
  /** A user of several tenants, naming none, gets a link to their first (as password login). */
  readonly firstTenant?: boolean | undefined;
}

/** Where a link may go, or why none is sent: what the caller is never told. */
type Decision =
  | { readonly send: true; readonly membership: UserMembership; readonly signIn: TenantSignIn }
  | { readonly send: false; readonly reason: MagicLinkReason };

/**
 * `POST /auth/magic-link`. The caller learns only whether its input was well formed:
 * an unknown address, a disabled or locked account, a tenant it is no member of all
 * answer like a sent link. The same statements run either way (the account's lookups
 * run against `NO_ACCOUNT` for an unknown address) and every request writes its audit
 * entry in a transaction; only a link actually sent adds its token and outbox rows.
 */
export function createRequestMagicLink(deps: MagicLinkContext) {
  const { users, membershipsOf, signInOf, lockout, mailer, audit, db } = deps;
  const ttlMs = deps.ttlSeconds * 1000;

  async function decide(
    user: User | undefined,
    memberships: readonly UserMembership[],
    locked: boolean,
    request: MagicLinkRequest,
    named: TenantSignIn | undefined,
    firstTenant: boolean,
  ): Promise<Decision> {
    if (!user) return { send: false, reason: 'unknown_email' };
    if (user.status !== 'active') return { send: false, reason: 'user_disabled' };
    if (locked) return { send: false, reason: 'account_locked' };
    let membership: UserMembership;
    try {
      // Password login's choice, without its invitee fallback: a link signs members in.
      // No link for a tenant that admits this user through SSO only (issue 20): it
      // would be refused on use. Without a tenant named, the others are candidates.
      membership = await chooseMembership(
        request.tenant_id === undefined
          ? await withoutSsoOnlyTenants(memberships, signInOf, user.id)
          : memberships,
        request.tenant_id,
        async () => [],
        firstTenant,
      );
    } catch (error) {
      if (error instanceof TesseraError) return { send: false, reason: refusalOf(error.code) };
      throw error;
    }
    if (membership.tenant_status !== 'active') return { send: false, reason: 'tenant_suspended' };
    const signIn = named ?? (await signInOf(membership.tenant_id));
    // Deleted since the memberships were read.
    if (!signIn) return { send: false, reason: 'not_a_member' };
    if (ssoRequiredFor(signIn, user.id)) return { send: false, reason: 'sso_required' };
    return { send: true, membership, signIn };
  }

  return async function requestMagicLink(
    request: MagicLinkRequest,
    context: AuditContext,
    continuation: MagicLinkContinuation = {},
  ): Promise<void> {
    mailer.requireConfigured();
    const page = continuation.continuePath ?? MAGIC_LINK_PAGE;
    // A path of this server, never a URL: the link stays on the issuer's origin.
    if (!page.startsWith('/') || page.startsWith('//')) throw new Error('continuePath: a path');
    const named = request.tenant_id === undefined ? undefined : await signInOf(request.tenant_id);
    if (request.redirect_uri !== undefined) {
      await checkRedirect(request, named, (entry) => audit.record(context, [entry]));
    }
    const user = await users.findByEmail(request.email);
    const memberships = await membershipsOf(user?.id ?? NO_ACCOUNT);
    const locked = await lockout.isLocked(user?.id ?? NO_ACCOUNT);
    const decision = await decide(
      user,
      memberships,
      locked,
      request,
      named,
      continuation.firstTenant ?? false,
    );
    const account: RequestingAccount | undefined = user && {
      user_id: user.id,
      email: user.email,
      memberships,
    };
    await db.transaction(async (trx: AnyKysely) => {
      if (decision.send && user) {
        const tenantId = decision.membership.tenant_id;
        const { token } = await createEmailTokenStore(trx, deps.now).issue(
          'magic_link',
          {
            user_id: user.id,
            tenant_id: tenantId,
            email: user.email,
            redirect_uri: request.redirect_uri ?? null,
          },
          ttlMs,
        );
        await mailer.queueIn(trx, {
          kind: 'magic_link',
          to: user.email,
          tenantId,
          values: {
            link: mailer.linkTo(page, token),
            expires_in: durationWords(deps.ttlSeconds),
            name: user.name ?? '',
            tenant_name: decision.signIn.tenant_name,
          },
        });
      }
      const outcome = decision.send
        ? { sentTo: decision.membership.tenant_id }
        : { reason: decision.reason, namedTenant: named?.tenant_id };
      await audit.inTransaction(trx, context, [requestedEntry(request, account, outcome)]);
    });
    if (decision.send) mailer.flush();
  };
}

/**
 * A redirect URI must be one the tenant allows, exactly. Checked before anything about
 * the account is looked at, against the tenant named (a redirect URI without one
 * cannot be checked without revealing which tenant the account is in), so the answer
 * tells nothing about the account.
 */
async function checkRedirect(
  request: MagicLinkRequest,
  named: TenantSignIn | undefined,
  record: (entry: ReturnType<typeof requestedEntry>) => Promise<void>,
): Promise<void> {
  if (named?.redirect_uris.includes(request.redirect_uri as string)) return;
  await record(
    requestedEntry(request, undefined, {
      reason: 'redirect_uri_not_allowed',
      namedTenant: named?.tenant_id,
    }),
  );
  throw new TesseraError(
    IdentityErrors.redirect_uri_not_allowed,
    request.tenant_id === undefined
      ? 'A redirect_uri needs the tenant_id whose redirect URIs allow it.'
      : `redirect_uri is not one of the redirect URIs of tenant ${request.tenant_id} (exact match).`,
    { errors: [{ path: '/redirect_uri', message: 'not an allowed redirect URI' }] },
  );
}

/** What chooseMembership's refusal means for a link: each is a reason for the trail only. */
function refusalOf(code: string): MagicLinkReason {
  switch (code) {
    case IdentityErrors.membership_deactivated:
      return 'membership_deactivated';
    case IdentityErrors.membership_required:
      return 'membership_required';
    case IdentityErrors.tenant_required:
      return 'tenant_required';
    case IdentityErrors.sso_required:
      return 'sso_required';
    default:
      // invalid_credentials: no live membership of the tenant named.
      return 'not_a_member';
  }
}
