import {
  type CacheProvider,
  type Profile,
  SAML,
  type SamlConfig,
  ValidateInResponseTo,
} from '@node-saml/node-saml';
import type { AssertionReplayStore } from '../assertion-replay-store.ts';
import type { ClaimNames, FederatedIdentity } from '../federated-identity.ts';
import { checkEnvelope } from './response-envelope.ts';
import { identityOf } from './saml-identity.ts';
import { refusalFromLibrary, refuse } from './saml-refusals.ts';
import type { SamlSettings } from './saml-settings.ts';
import { checkSignedAssertion, type SignedAssertion } from './signed-assertion.ts';

export interface SamlConnection {
  readonly id: string;
  readonly settings: SamlSettings;
  readonly claimNames: ClaimNames;
  /** Asserted email counts as verified only on a trusted connection. */
  readonly trusted: boolean;
  readonly idpInitiated: boolean;
}

export interface SamlFederationDeps {
  /** Tessera's public base URL, e.g. http://127.0.0.1:PORT. */
  readonly baseUrl: string;
  readonly replay: Pick<AssertionReplayStore, 'claim'>;
  readonly clockSkewMs: number;
  /**
   * The clock of Tessera's own checks (subject confirmation, replay expiry). node-saml
   * reads the system clock for the Conditions times; tests move times in the assertion.
   */
  readonly now?: () => number;
}

export type SamlSignIn = FederatedIdentity & { inResponseTo: string | null; assertionId: string };

/** The SP entity id Tessera presents to the IdP of one connection. */
export function samlEntityId(baseUrl: string, connectionId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/sso/saml/${encodeURIComponent(connectionId)}`;
}

/** Where the IdP POSTs its answers (HTTP-POST binding). */
export function samlAcsUrl(baseUrl: string, connectionId: string): string {
  return `${samlEntityId(baseUrl, connectionId)}/acs`;
}

export function samlMetadataUrl(baseUrl: string, connectionId: string): string {
  return `${samlEntityId(baseUrl, connectionId)}/metadata`;
}

/**
 * SAML 2.0 Web SSO as a service provider, on node-saml: HTTP-Redirect AuthnRequests,
 * HTTP-POST responses. node-saml checks signatures (and that exactly one assertion is
 * there, against wrapping), times, audience and InResponseTo; Tessera adds what it
 * leaves out: no DTD at all, Destination, Issuer, the bearer confirmation's Recipient
 * and time, and a replay cache shared by every node.
 */
export function createSamlFederation(deps: SamlFederationDeps) {
  const now = deps.now ?? Date.now;

  function samlFor(
    connection: SamlConnection,
    inResponseTo: ValidateInResponseTo,
    cacheProvider: CacheProvider,
  ): SAML {
    const { settings } = connection;
    const entityId = samlEntityId(deps.baseUrl, connection.id);
    const config: SamlConfig = {
      idpCert: [...settings.certificates],
      issuer: entityId,
      audience: entityId,
      callbackUrl: samlAcsUrl(deps.baseUrl, connection.id),
      entryPoint: settings.sso_url,
      idpIssuer: settings.idp_entity_id,
      wantAssertionsSigned: settings.want_assertions_signed,
      // Never neither: without signed assertions the whole response must be signed.
      wantAuthnResponseSigned: !settings.want_assertions_signed,
      acceptedClockSkewMs: deps.clockSkewMs,
      validateInResponseTo: inResponseTo,
      cacheProvider,
      // The IdP chooses the NameID format and how people authenticate: asking for
      // emailAddress or an exact PasswordProtectedTransport makes many IdPs refuse.
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
    };
    return new SAML(config);
  }

  return {
    async begin(
      connection: SamlConnection,
      relayState: string,
    ): Promise<{ url: string; requestId: string }> {
      let requestId: string | undefined;
      // node-saml records the id of the request it builds in its cache; the caller keeps
      // it (with the RelayState) instead, so this cache only catches it.
      const catchId: CacheProvider = {
        saveAsync: async (key, value) => {
          requestId = key;
          return { value, createdAt: now() };
        },
        getAsync: async () => null,
        removeAsync: async (key) => key,
      };
      const url = await samlFor(
        connection,
        ValidateInResponseTo.always,
        catchId,
      ).getAuthorizeUrlAsync(relayState, undefined, {});
      if (requestId === undefined)
        throw new Error('node-saml built an AuthnRequest without recording its id');
      return { url, requestId };
    },

    async complete(
      connection: SamlConnection,
      form: { SAMLResponse: string; RelayState?: string | undefined },
      expectedRequestId: string | null,
    ): Promise<SamlSignIn> {
      const acsUrl = samlAcsUrl(deps.baseUrl, connection.id);
      const inResponseTo = checkEnvelope(connection, form.SAMLResponse, expectedRequestId, acsUrl);
      // The only request id this answer may be about, and only for this call. How long a
      // request stays answerable is the caller's (it keeps the request); node-saml
      // compares the instant given here with the system clock, so it gets that clock.
      const knowsOnlyExpected: CacheProvider = {
        saveAsync: async () => null,
        getAsync: async (key) => (key === expectedRequestId ? new Date().toISOString() : null),
        removeAsync: async (key) => key,
      };
      let profile: Profile | null;
      try {
        ({ profile } = await samlFor(
          connection,
          expectedRequestId === null ? ValidateInResponseTo.never : ValidateInResponseTo.always,
          knowsOnlyExpected,
        ).validatePostResponseAsync({
          SAMLResponse: form.SAMLResponse,
        }));
      } catch (error) {
        throw refusalFromLibrary(error);
      }
      const signedXml = profile?.getAssertionXml?.();
      if (profile === null || signedXml === undefined)
        throw refuse('invalid_response', 'the response carries no assertion');
      const assertion: SignedAssertion = checkSignedAssertion(signedXml, {
        idpEntityId: connection.settings.idp_entity_id,
        acsUrl,
        requestId: expectedRequestId,
        nowMs: now(),
        clockSkewMs: deps.clockSkewMs,
      });
      if (!(await deps.replay.claim(connection.id, assertion.id, assertion.expiresMs)))
        throw refuse('replayed', `assertion ${assertion.id} was already used`);
      return {
        ...identityOf(connection, assertion, profile),
        inResponseTo,
        assertionId: assertion.id,
      };
    },

    metadata(connection: SamlConnection): string {
      const noCache: CacheProvider = {
        saveAsync: async () => null,
        getAsync: async () => null,
        removeAsync: async (key) => key,
      };
      return samlFor(
        connection,
        ValidateInResponseTo.never,
        noCache,
      ).generateServiceProviderMetadata(null, null);
    },
  };
}

export type SamlFederation = ReturnType<typeof createSamlFederation>;
