import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import { type AccountAdmissionDeps, admitAccount } from '../login/sign-in-refusal.ts';
import { isFederated, ssoRequired, ssoRequiredFor } from '../login/sso-enforcement.ts';
import type { SessionRecord, SessionStore } from '../sessions/session-store.ts';
import type { SignInOf } from '../tenancy-port.ts';
import type { AccessClaims } from '../tokens/access-token.ts';
import type { TokenSet } from '../tokens/issue-token-set.ts';
import type { UserService } from '../users/user-service.ts';
import { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR, OPENID_SCOPES } from './oidc-provider.ts';
import type { FindProviderClient, ProviderClient } from './provider-client.ts';

type Raw = { req: IncomingMessage; res: ServerResponse };
type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The Tessera session a sign-in on the hosted pages started, kept in the interaction until it ends. */
interface Pending {
  readonly session_id: string;
  readonly user_id: string;
  /** The session's tenant. */
  readonly tenant_id: string;
  /** The user chose this tenant (or the client allows no choice). */
  readonly tenant_chosen: boolean;
  /** The user allowed a third-party client. */
  readonly consented: boolean;
}

/** What the hosted pages show next. */
export type NextStep =
  | { readonly step: 'sign_in' }
  | { readonly step: 'tenant'; readonly tenants: readonly { id: string; name: string }[] }
  | { readonly step: 'consent'; readonly scopes: readonly string[] }
  | { readonly step: 'done' };

export interface OidcSignInDeps {
  readonly provider: () => Promise<Provider>;
  /** The resource indicator of the API (oidc-provider.ts `apiResource`). */
  readonly resource: string;
  readonly findClient: FindProviderClient;
  readonly verifyAccessToken: (token: string) => Promise<AccessClaims>;
  readonly sessions: SessionStore;
  readonly users: Pick<UserService, 'findById'>;
  readonly admission: AccountAdmissionDeps;
  /** Tenancy's: whether a tenant admits the user through SSO only (issue 20). */
  readonly signInOf: SignInOf;
  /** The tenants a user may enter, with their names (tenancy's). */
  readonly tenantsOf: (userId: string) => Promise<readonly { id: string; name: string }[]>;
  readonly audit: AuditLog;
}

/**
 * The steps between an authorization request and its answer, on the hosted pages:
 * the sign-in itself is the JSON API's (password and second factor, with their
 * lockout, audit and policy), which starts a Tessera session; then the tenant, the
 * consent of a third-party client, and the grant, bound to that session: the grant's
 * tokens act through it, so logging out or revoking it ends them.
 */
export function createOidcSignIn(deps: OidcSignInDeps) {
  const { sessions } = deps;

  async function load(raw: Raw) {
    const provider = await deps.provider();
    const interaction = await provider.interactionDetails(raw.req, raw.res);
    const client = await deps.findClient(String(interaction.params.client_id ?? ''));
    if (!client) throw new TesseraError(IdentityErrors.invalid_credentials, 'Unknown client.');
    const pending = (interaction.result as { tessera?: Pending } | undefined)?.tessera;
    return { provider, interaction, client, pending };
  }

  async function keep(interaction: Interaction, pending: Pending): Promise<void> {
    interaction.result = { tessera: pending };
    await interaction.persist();
  }

  /** The tenant the request names (`tenant`), else the client's own when it allows no choice. */
  function requestedTenant(interaction: Interaction, client: ProviderClient): string | undefined {
    const named = interaction.params.tenant;
    if (typeof named === 'string' && named !== '') return named;
    return client.tenant_choice ? undefined : client.tenant_id;
  }

  async function next(raw: Raw, context?: AuditContext): Promise<NextStep> {
    const { interaction, client, pending } = await load(raw);
    if (!pending) {
      // Signed in at the provider already (single sign-on): a session for this client,
      // in the tenant it is pinned to or the request names, else the one the user picks.
      // A federated browser session signs in again: its proof is one tenant's IdP's,
      // and the provider's session does not record which tenant that was (issue 20).
      if (
        interaction.prompt.name === 'login' ||
        !interaction.session?.accountId ||
        isFederated((interaction.session.amr as string[] | undefined) ?? [])
      ) {
        return { step: 'sign_in' };
      }
      const tenantId = requestedTenant(interaction, client);
      if (tenantId === undefined || context === undefined) {
        return { step: 'tenant', tenants: await deps.tenantsOf(interaction.session.accountId) };
      }
      return chooseTenant(raw, tenantId, context);
    }
    if (!pending.tenant_chosen) {
      return { step: 'tenant', tenants: await deps.tenantsOf(pending.user_id) };
    }
    // A first-party client skips consent in its own tenant only: in another tenant of
    // the user's, the client's tenant admin is a stranger, who gets nothing unasked.
    const trusted = client.first_party && pending.tenant_id === client.tenant_id;
    if (!trusted && !pending.consented) {
      return { step: 'consent', scopes: requestedScopes(interaction) };
    }
    return { step: 'done' };
  }

  /** A sign-in on the hosted page answered tokens: its session is the grant's to be. */
  async function signedIn(raw: Raw, tokens: TokenSet): Promise<NextStep> {
    const { interaction, client, pending } = await load(raw);
    const claims = await deps.verifyAccessToken(tokens.access_token);
    // Signed in again in the same request (another account): the first one's session ends.
    if (pending && pending.session_id !== claims.sid) {
      await sessions.revoke(pending.session_id, 'authorization_signed_in_again');
    }
    // A federated sign-in's tenant is its IdP's: there is no other to choose (issue 20).
    const chosen =
      !client.tenant_choice ||
      requestedTenant(interaction, client) !== undefined ||
      isFederated(claims.amr);
    const tenants = chosen ? [] : await deps.tenantsOf(claims.sub);
    await keep(interaction, {
      session_id: claims.sid,
      user_id: claims.sub,
      tenant_id: claims.tid,
      tenant_chosen: chosen || tenants.length <= 1,
      consented: false,
    });
    return next(raw);
  }

  /** The user picked a tenant: a session there on the same proof, the first one ended. */
  async function chooseTenant(
    raw: Raw,
    tenantId: string,
    context: AuditContext,
  ): Promise<NextStep> {
    const { interaction, client, pending } = await load(raw);
    const proofSession = pending ? await sessions.find(pending.session_id) : undefined;
    const started = await sessionIn(interaction, client, tenantId, context, proofSession);
    if (pending && started.id !== pending.session_id) {
      await sessions.revoke(pending.session_id, 'tenant_chosen');
    }
    await keep(interaction, {
      session_id: started.id,
      user_id: started.user_id,
      tenant_id: started.tenant_id,
      tenant_chosen: true,
      // A consent given for another tenant does not carry over.
      consented: (pending?.consented ?? false) && pending?.tenant_id === started.tenant_id,
    });
    return next(raw);
  }

  async function consent(raw: Raw): Promise<NextStep> {
    const { interaction, pending } = await load(raw);
    if (!pending) return { step: 'sign_in' };
    await keep(interaction, { ...pending, consented: true });
    return next(raw);
  }

  /**
   * A session in `tenantId` for the signed-in user, on the proof of `from` (a session
   * the hosted page started) or of the provider's browser session (single sign-on),
   * checked as any sign-in is: active user, not locked, a member, the tenant active.
   */
  async function sessionIn(
    interaction: Interaction,
    client: ProviderClient,
    tenantId: string,
    context: AuditContext,
    from: SessionRecord | undefined,
  ): Promise<SessionRecord> {
    if (!client.tenant_choice && tenantId !== client.tenant_id) throw otherTenant(client);
    if (from && from.tenant_id === tenantId && from.revoked_ms === null) return from;
    const proof = from
      ? {
          amr: from.amr,
          secondFactor: from.second_factor_ms !== null,
          authTimeMs: from.auth_time_ms,
        }
      : await providerSessionProof(interaction);
    // A sign-in through tenant A's IdP vouches for nobody in tenant B (issue 20); a
    // provider session's proof names no tenant, so a federated one is never reused.
    if (isFederated(proof.amr)) throw otherTenantThanIdp();
    const userId = from?.user_id ?? String(interaction.session?.accountId ?? '');
    const user = await deps.users.findById(userId);
    if (!user) throw cannotSignIn();
    const membership = await admitAccount(deps.admission, user, tenantId, cannotSignIn).catch(
      (refusal: unknown) => {
        throw refusal instanceof Error && 'error' in refusal
          ? (refusal as { error: TesseraError }).error
          : refusal;
      },
    );
    if (ssoRequiredFor(await deps.signInOf(tenantId), user.id)) throw ssoRequired(tenantId);
    const started = await sessions.start(
      user.id,
      membership.tenant_id,
      { ip: context.ip, user_agent: context.user_agent },
      (trx, session) =>
        deps.audit.inTransaction(trx, { ...context, actor: user.id, actor_type: 'user' }, [
          {
            tenant_id: session.tenant_id,
            action: 'oauth.session_started',
            target: `session:${session.id}`,
            outcome: 'success',
            details: { client_id: client.id, basis: from ? 'tenant_chosen' : 'single_sign_on' },
          },
        ]),
      proof,
    );
    const session = await sessions.find(started.session_id);
    if (!session) throw new Error('a session just started cannot be found');
    return session;
  }

  async function providerSessionProof(interaction: Interaction) {
    const provider = await deps.provider();
    const uid = interaction.session?.uid;
    const browser = uid === undefined ? undefined : await provider.Session.findByUid(uid);
    const amr = (interaction.session?.amr as string[] | undefined) ?? ['pwd'];
    return {
      amr,
      secondFactor: amr.includes('mfa'),
      authTimeMs: (browser?.loginTs ?? Math.floor(Date.now() / 1000)) * 1000,
    };
  }

  /**
   * Grants what was asked for, binds the grant to the session, and answers the
   * provider (which redirects back to the client with a code). Hijacks `raw.res`.
   */
  async function finish(raw: Raw, context: AuditContext): Promise<void> {
    const { provider, interaction, client, pending } = await load(raw);
    let session = pending ? await sessions.find(pending.session_id) : undefined;
    const tenantId = session?.tenant_id ?? requestedTenant(interaction, client);
    if (tenantId === undefined) throw new Error('finish() before a tenant was chosen');
    if (!session || session.oauth_grant_id !== null) {
      session = await sessionIn(interaction, client, tenantId, context, session);
    }
    const scopes = requestedScopes(interaction);
    const grant = new provider.Grant({ accountId: session.user_id, clientId: client.id });
    const openid = scopes.filter((scope) => (OPENID_SCOPES as readonly string[]).includes(scope));
    const permissions = scopes.filter((scope) => !openid.includes(scope));
    if (openid.length > 0) grant.addOIDCScope(openid.join(' '));
    if (permissions.length > 0) grant.addResourceScope(deps.resource, permissions.join(' '));
    const grantId = await grant.save();
    if (!(await sessions.bindGrant(session.id, { grant_id: grantId, client_id: client.id }))) {
      throw cannotSignIn();
    }
    const multiFactor = session.amr.includes('mfa');
    await provider.interactionFinished(
      raw.req,
      raw.res,
      {
        ...(interaction.prompt.name === 'login'
          ? {
              login: {
                accountId: session.user_id,
                amr: [...session.amr],
                acr: multiFactor ? ACR_MULTI_FACTOR : ACR_SINGLE_FACTOR,
                ts: Math.floor(session.auth_time_ms / 1000),
              },
            }
          : {}),
        consent: { grantId },
      },
      { mergeWithLastSubmission: false },
    );
  }

  /** The user declined (or a step failed for good): the client hears `access_denied`. */
  async function abort(raw: Raw, description: string): Promise<void> {
    const { provider, pending } = await load(raw);
    if (pending) await sessions.revoke(pending.session_id, 'authorization_declined');
    await provider.interactionFinished(
      raw.req,
      raw.res,
      { error: 'access_denied', error_description: description },
      { mergeWithLastSubmission: false },
    );
  }

  return { load, next, signedIn, chooseTenant, consent, finish, abort, requestedTenant };
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;

function requestedScopes(interaction: Interaction): string[] {
  return [
    ...new Set(
      String(interaction.params.scope ?? '')
        .split(' ')
        .filter(Boolean),
    ),
  ];
}

function cannotSignIn(): TesseraError {
  return new TesseraError(
    IdentityErrors.invalid_credentials,
    'You cannot sign in to this tenant with this account.',
  );
}

function otherTenantThanIdp(): TesseraError {
  return new TesseraError(
    IdentityErrors.sso_other_tenant,
    'You signed in through an organization’s identity provider, which signs you in to that organization only: sign in again to enter another.',
  );
}

function otherTenant(client: ProviderClient): TesseraError {
  return new TesseraError(
    IdentityErrors.invalid_credentials,
    `${client.name} signs users in to its own tenant only.`,
  );
}
