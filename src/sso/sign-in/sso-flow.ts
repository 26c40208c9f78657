import { createHash } from 'node:crypto';
import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { SignInOf } from '../../identity/tenancy-port.ts';
import type { TokenSet } from '../../identity/tokens/issue-token-set.ts';
import type { SecretSealer } from '../../identity/tokens/secret-sealer.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import type { SsoConnection } from '../connections/connection-record.ts';
import {
  type ConnectionWithSecret,
  createConnectionStore,
} from '../connections/connection-store.ts';
import { SsoErrors } from '../errors.ts';
import { type FederatedIdentity, FederationRefused } from '../federated-identity.ts';
import type { OidcConnection, OidcFederation } from '../oidc/oidc-federation.ts';
import type { SamlConnection, SamlFederation } from '../saml/saml-federation.ts';
import { ssoUrls } from '../sso-urls.ts';
import { mapGroups } from './group-mapping.ts';
import type { ReturnTarget } from './return-target.ts';
import { createSsoRequestStore, newRequestId, type SsoRequest } from './sso-request-store.ts';
import type { SsoSignIn } from './sso-sign-in.ts';

export interface SsoFlowDeps {
  readonly db: Pick<DatabaseBase, 'kysely'>;
  readonly audit: AuditLog;
  readonly sealer: SecretSealer;
  readonly oidc: OidcFederation;
  readonly saml: SamlFederation;
  readonly signIn: SsoSignIn;
  readonly signInOf: SignInOf;
  /** The public base URL (the OpenID issuer). */
  readonly base: string;
  readonly requestTtlMs: number;
  readonly now?: () => number;
}

/** What the admin's test page shows: what the IdP said and what Tessera would make of it. */
export interface TestReport {
  readonly connection: Pick<SsoConnection, 'id' | 'name' | 'type'>;
  readonly identity: FederatedIdentity;
  readonly roles: readonly string[];
  readonly teams: readonly string[];
}

/** Where the browser goes once the IdP's answer was checked. */
export type Answered =
  | { readonly kind: 'interaction'; readonly uid: string; readonly requestId: string }
  | { readonly kind: 'complete'; readonly requestId: string }
  | { readonly kind: 'signed_in'; readonly tokens: TokenSet; readonly redirect: string };

/** A browser's binding cookie as stored: its SHA-256, base64url. */
export const browserDigest = (secret: string): string =>
  createHash('sha256').update(secret).digest('base64url');

const invalidRequest = () =>
  new TesseraError(
    SsoErrors.sso_request_invalid,
    'This single sign-on is unknown, expired, already used, or was started in another browser. Start again.',
  );

const refusedAnswer = (reason: string) =>
  new TesseraError(
    SsoErrors.sso_response_invalid,
    `The identity provider's answer was refused (${reason}). Start again; if it happens again, tell your administrator.`,
    { extensions: { reason } },
  );

/**
 * The browser's way through an identity provider and back (issue 20 item 2). A start
 * records the request (state, nonce, PKCE verifier or AuthnRequest id; the browser's
 * cookie digest; where it returns) and sends the browser to the IdP; the callback or
 * ACS checks the answer against that request and keeps the verified identity on it;
 * the browser then takes it where it was started (the hosted page's interaction, whose
 * cookie binds it, or `/sso/complete`, which checks the binding cookie), once.
 */
export function createSsoFlow(deps: SsoFlowDeps) {
  const { sealer } = deps;
  const now = deps.now ?? Date.now;
  const requests = createSsoRequestStore(deps.db.kysely, now);
  const connections = createConnectionStore(deps.db.kysely, now);
  const urls = (id: string) => ssoUrls(deps.base, id);

  function oidcConnection(found: ConnectionWithSecret): OidcConnection {
    const { connection } = found;
    return {
      id: connection.id,
      settings: connection.oidc as NonNullable<SsoConnection['oidc']>,
      clientSecret: found.secret_box === null ? '' : sealer.open(connection.id, found.secret_box),
      claimNames: connection.mapping.claims,
    };
  }

  function samlConnection(connection: SsoConnection): SamlConnection {
    return {
      id: connection.id,
      settings: connection.saml as NonNullable<SsoConnection['saml']>,
      claimNames: connection.mapping.claims,
      trusted: connection.trusted,
      idpInitiated: connection.idp_initiated,
    };
  }

  /** A live connection (or a disabled one, for an admin's test). */
  async function usable(id: string, purpose: 'sign_in' | 'test'): Promise<ConnectionWithSecret> {
    const found = await connections.findWithSecret(id);
    if (!found) {
      throw new TesseraError(SsoErrors.sso_connection_not_found, 'No SSO connection has that id.');
    }
    if (purpose === 'sign_in' && !found.connection.enabled) {
      throw new TesseraError(
        SsoErrors.sso_connection_disabled,
        `${found.connection.name} is disabled; sign in another way or ask an administrator.`,
      );
    }
    return found;
  }

  /** The identity the IdP's answer proves, or a refusal (recorded) that ends the request. */
  async function verified(
    found: ConnectionWithSecret,
    request: SsoRequest | undefined,
    check: () => Promise<FederatedIdentity>,
    context: AuditContext,
  ): Promise<FederatedIdentity> {
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof FederationRefused)) throw error;
      // A replayed assertion was just accepted for this connection: when it answered this
      // very request (the same response posted twice at once), the winner is about to
      // record its answer, and dropping the request first would refuse both.
      if (request && error.reason !== 'replayed') await requests.drop(request.id);
      await deps.signIn.refused(found.connection, undefined, error.reason, context, {
        test: request?.purpose === 'test',
      });
      throw refusedAnswer(error.reason);
    }
  }

  /** The verified identity is kept on its request; the browser is sent on to collect it. */
  async function answered(request: SsoRequest, identity: FederatedIdentity): Promise<Answered> {
    if (!(await requests.answer(request.id, identity))) throw invalidRequest();
    return request.target.kind === 'interaction'
      ? { kind: 'interaction', uid: request.target.uid, requestId: request.id }
      : { kind: 'complete', requestId: request.id };
  }

  return {
    urls,

    /** The connection, for the routes' rendering (metadata, names); undefined when none. */
    async find(id: string): Promise<SsoConnection | undefined> {
      return (await connections.findWithSecret(id))?.connection;
    },

    /** A connection the hosted sign-in may not use for its client: as if there were none. */
    refuseOtherTenant(): never {
      throw new TesseraError(
        SsoErrors.sso_connection_not_found,
        'This identity provider does not sign in to the organization this application belongs to.',
      );
    },

    /** A SAML connection's SP metadata document; undefined when there is no such connection. */
    async samlMetadata(id: string): Promise<string | undefined> {
      const found = await connections.findWithSecret(id);
      if (found?.connection.type !== 'saml') return undefined;
      return deps.saml.metadata(samlConnection(found.connection));
    },

    /** The enabled connection claiming the address's domain. Reveals nothing about accounts. */
    async discover(email: string): Promise<SsoConnection | undefined> {
      const at = email.lastIndexOf('@');
      if (at < 1) return undefined;
      return connections.findByDomain(
        email
          .slice(at + 1)
          .trim()
          .toLowerCase(),
      );
    },

    /** The tenant's enabled connections (the hosted page's buttons). */
    offered: (tenantId: string) => connections.enabledOf(tenantId),

    /** Whether finding an IdP by address can lead anywhere (the hosted page's SSO link). */
    discoverable: () => connections.anyDiscoverable(),

    /** Records a sign-in and answers the IdP URL to send the browser to. */
    async start(
      connectionId: string,
      target: ReturnTarget,
      browserSecret: string,
    ): Promise<{ url: string }> {
      const found = await usable(connectionId, target.kind === 'test' ? 'test' : 'sign_in');
      if (target.kind === 'redirect') {
        const allowed = (await deps.signInOf(found.connection.tenant_id))?.redirect_uris ?? [];
        if (!allowed.includes(target.uri)) {
          throw new TesseraError(
            SsoErrors.sso_request_invalid,
            'redirect_uri is not one of the tenant’s redirect URIs (its sign-in settings).',
          );
        }
      }
      const id = newRequestId();
      let begun: { url: string; protocol_state: Record<string, string> };
      if (found.connection.type === 'oidc') {
        const { url, protocolState } = await deps.oidc
          .begin(oidcConnection(found), urls(connectionId).oidcRedirectUri, id)
          .catch((error: unknown) => {
            if (error instanceof FederationRefused) throw refusedAnswer(error.reason);
            throw error;
          });
        begun = { url, protocol_state: { ...protocolState } };
      } else {
        const { url, requestId } = await deps.saml.begin(samlConnection(found.connection), id);
        begun = { url, protocol_state: { request_id: requestId } };
      }
      await requests.start({
        id,
        connection_id: connectionId,
        browser_digest: browserDigest(browserSecret),
        protocol_state: begun.protocol_state,
        target,
        ttl_ms: deps.requestTtlMs,
      });
      return { url: begun.url };
    },

    /** The OpenID Connect callback (`/sso/oidc/{id}/callback?code&state`). */
    async oidcCallback(connectionId: string, callbackUrl: URL, context: AuditContext) {
      const state = callbackUrl.searchParams.get('state') ?? '';
      const request = state === '' ? undefined : await requests.pending(state, connectionId);
      if (!request) throw invalidRequest();
      const found = await usable(connectionId, request.purpose);
      const identity = await verified(
        found,
        request,
        () =>
          deps.oidc.complete(
            oidcConnection(found),
            urls(connectionId).oidcRedirectUri,
            callbackUrl,
            request.id,
            {
              nonce: request.protocol_state.nonce ?? '',
              code_verifier: request.protocol_state.code_verifier ?? '',
            },
          ),
        context,
      );
      return answered(request, identity);
    },

    /**
     * The SAML Assertion Consumer Service. A RelayState naming a pending request binds
     * the response to it (`InResponseTo`); any other is IdP-initiated, accepted only
     * when the connection allows it, and signed in at once (no request to come back to).
     */
    async samlAcs(
      connectionId: string,
      form: { SAMLResponse: string; RelayState?: string | undefined },
      context: AuditContext,
    ): Promise<Answered> {
      const relay = form.RelayState ?? '';
      const request = relay === '' ? undefined : await requests.pending(relay, connectionId);
      const found = await usable(connectionId, request?.purpose ?? 'sign_in');
      const saml = samlConnection(found.connection);
      const identity = await verified(
        found,
        request,
        () => deps.saml.complete(saml, form, request?.protocol_state.request_id ?? null),
        context,
      );
      if (request) return answered(request, identity);
      const redirect = await idpInitiatedTarget(found.connection, relay);
      const tokens = await deps.signIn.signIn(found.connection, identity, context);
      return { kind: 'signed_in', tokens, redirect };
    },

    /**
     * `/sso/complete/{id}`: the browser that started the request collects its answer,
     * once. A sign-in answers tokens and where to take them; a test, its report.
     */
    async complete(
      requestId: string,
      browserSecret: string | undefined,
      context: AuditContext,
    ): Promise<
      | { kind: 'signed_in'; tokens: TokenSet; redirect: string }
      | { kind: 'test'; report: TestReport }
    > {
      const request = await take(requestId, browserSecret);
      if (request.target.kind === 'interaction') throw invalidRequest();
      const found = await usable(request.connection_id, request.purpose);
      const identity = request.outcome as FederatedIdentity;
      if (request.target.kind === 'test') {
        const mapped = mapGroups(found.connection.mapping, identity.groups);
        await deps.audit.record(context, [
          {
            tenant_id: found.connection.tenant_id,
            action: 'sso.connection_tested',
            target: `sso_connection:${found.connection.id}`,
            outcome: 'success',
            details: { subject: identity.subject, email: identity.email ?? null },
          },
        ]);
        return {
          kind: 'test',
          report: {
            connection: {
              id: found.connection.id,
              name: found.connection.name,
              type: found.connection.type,
            },
            identity,
            roles: mapped.roles,
            teams: mapped.teams,
          },
        };
      }
      const tokens = await deps.signIn.signIn(found.connection, identity, context);
      return { kind: 'signed_in', tokens, redirect: request.target.uri };
    },

    /** The hosted page's completion: the interaction's own request, its tokens. */
    async completeInteraction(
      requestId: string,
      uid: string,
      context: AuditContext,
    ): Promise<TokenSet> {
      const request = await requests.take(requestId);
      if (request?.target.kind !== 'interaction' || request.target.uid !== uid) {
        throw invalidRequest();
      }
      const found = await usable(request.connection_id, 'sign_in');
      return deps.signIn.signIn(found.connection, request.outcome as FederatedIdentity, context);
    },
  };

  async function take(requestId: string, browserSecret: string | undefined): Promise<SsoRequest> {
    const request = await requests.take(requestId);
    // Taken even when the browser is the wrong one: a request that leaked is spent.
    if (
      !request ||
      browserSecret === undefined ||
      request.browser_digest !== browserDigest(browserSecret)
    ) {
      throw invalidRequest();
    }
    return request;
  }

  /** An unsolicited sign-in goes to the RelayState when it is an allowed redirect URI, else the first. */
  async function idpInitiatedTarget(connection: SsoConnection, relay: string): Promise<string> {
    const allowed = (await deps.signInOf(connection.tenant_id))?.redirect_uris ?? [];
    const target = allowed.includes(relay) ? relay : allowed[0];
    if (target === undefined) {
      throw new TesseraError(
        SsoErrors.sso_request_invalid,
        'This organization has no application to return to after an IdP-initiated sign-in (its sign-in settings list no redirect URI).',
      );
    }
    return target;
  }
}

export type SsoFlow = ReturnType<typeof createSsoFlow>;
