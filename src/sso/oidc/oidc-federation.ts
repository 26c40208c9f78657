import * as client from 'openid-client';
import type { ClaimNames, FederatedIdentity } from '../federated-identity.ts';
import { FederationRefused } from '../federated-identity.ts';
import { createDiscoveryCache } from './oidc-discovery-cache.ts';
import { identityFromClaims } from './oidc-identity.ts';
import { refusalOf } from './oidc-refusal.ts';
import type { OidcSettings } from './oidc-settings.ts';

export interface OidcConnection {
  readonly id: string;
  readonly settings: OidcSettings;
  /** Decrypted by the caller. */
  readonly clientSecret: string;
  readonly claimNames: ClaimNames;
}

export interface OidcFederationDeps {
  readonly allowInsecureUrls: boolean;
  readonly clockSkewSeconds: number;
  /** Timeout of every call to the IdP (discovery, token, JWKS, userinfo); default 10 s. */
  readonly timeoutMs?: number;
  /** How long a discovered configuration is reused per connection; default 10 minutes. */
  readonly discoveryTtlMs?: number;
  /** The clock of the discovery cache (tests); default `Date.now`. */
  readonly now?: () => number;
}

/** What `complete()` needs back from `begin()`: kept server-side by the caller. */
export interface OidcProtocolState {
  readonly nonce: string;
  readonly code_verifier: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_DISCOVERY_TTL_MS = 10 * 60_000;
const MAX_CACHED_DISCOVERIES = 1000;

/**
 * The client secret sent as the IdP prefers: HTTP Basic, the default of OpenID
 * Connect Discovery, unless the IdP lists client_secret_post and not Basic.
 */
function secretAuth(secret: string): client.ClientAuth {
  const basic = client.ClientSecretBasic(secret);
  const post = client.ClientSecretPost(secret);
  return (as, metadata, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const postOnly =
      Array.isArray(methods) &&
      methods.includes('client_secret_post') &&
      !methods.includes('client_secret_basic');
    (postOnly ? post : basic)(as, metadata, body, headers);
  };
}

/**
 * OpenID Connect sign-in at an enterprise IdP, as a relying party (openid-client):
 * the authorization code flow with state, nonce and PKCE S256, the ID token checked
 * (signature, iss, aud, azp, exp/iat within the clock skew), UserInfo asked when the
 * ID token carries no email. Every refusal is a `FederationRefused` (see oidc-refusal.ts).
 */
export function createOidcFederation(deps: OidcFederationDeps) {
  const timeoutSeconds = (deps.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000;
  const cache = createDiscoveryCache<client.Configuration>({
    ttlMs: deps.discoveryTtlMs ?? DEFAULT_DISCOVERY_TTL_MS,
    maxEntries: MAX_CACHED_DISCOVERIES,
    now: deps.now ?? Date.now,
  });

  async function load(connection: OidcConnection): Promise<client.Configuration> {
    const { issuer, client_id } = connection.settings;
    try {
      // openid-client refuses http (discovery and every later call) unless allowed.
      const config = await client.discovery(
        new URL(issuer),
        client_id,
        { [client.clockTolerance]: deps.clockSkewSeconds },
        secretAuth(connection.clientSecret),
        {
          timeout: timeoutSeconds,
          ...(deps.allowInsecureUrls ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
      // openid-client compares the issuers as parsed URLs (a trailing slash apart);
      // ID tokens are compared with the exact string, so discovery is too.
      const discovered = config.serverMetadata().issuer;
      if (discovered !== issuer) {
        throw new FederationRefused(
          'discovery_failed',
          `the discovery document names issuer ${discovered}, not ${issuer}`,
        );
      }
      if (!config.serverMetadata().authorization_endpoint) {
        throw new FederationRefused('discovery_failed', 'the IdP has no authorization_endpoint');
      }
      return config;
    } catch (error) {
      throw refusalOf(error, 'discovery');
    }
  }

  const cacheParts = (connection: OidcConnection) => [
    connection.settings.issuer,
    connection.settings.client_id,
    connection.clientSecret,
  ];
  const configOf = (connection: OidcConnection) =>
    cache.get(connection.id, cacheParts(connection), () => load(connection));

  /** The ID token's claims, and UserInfo's beneath them when the email claim is missing. */
  async function claimsOf(
    config: client.Configuration,
    connection: OidcConnection,
    tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>,
  ): Promise<Record<string, unknown>> {
    const idClaims = tokens.claims();
    if (!idClaims) throw new FederationRefused('id_token_invalid', 'the IdP returned no ID token');
    if (idClaims[connection.claimNames.email] !== undefined) return { ...idClaims };
    if (!config.serverMetadata().userinfo_endpoint) return { ...idClaims };
    try {
      // openid-client refuses a UserInfo answer about another `sub`.
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      return { ...userinfo, ...idClaims };
    } catch (error) {
      throw refusalOf(error, 'userinfo');
    }
  }

  return {
    /** Fetches and checks the discovery document anew (a connection created or tested). */
    async discover(
      connection: OidcConnection,
    ): Promise<{ issuer: string; authorization_endpoint: string }> {
      const config = await cache.refresh(connection.id, cacheParts(connection), () =>
        load(connection),
      );
      const metadata = config.serverMetadata();
      return {
        issuer: metadata.issuer,
        authorization_endpoint: String(metadata.authorization_endpoint),
      };
    },

    /** Where to send the browser; `protocolState` is what `complete()` needs back. */
    async begin(
      connection: OidcConnection,
      redirectUri: string,
      state: string,
    ): Promise<{ url: string; protocolState: OidcProtocolState }> {
      const config = await configOf(connection);
      const code_verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: connection.settings.scopes.join(' '),
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, protocolState: { nonce, code_verifier } };
    },

    /**
     * Checks the callback (the full URL the browser came back to) and exchanges its
     * code. The code is redeemed at `redirectUri` exactly, whatever host the callback
     * was reconstructed with (a proxy in front).
     */
    async complete(
      connection: OidcConnection,
      redirectUri: string,
      callbackUrl: URL,
      state: string,
      protocolState: OidcProtocolState,
    ): Promise<FederatedIdentity> {
      const config = await configOf(connection);
      const current = new URL(redirectUri);
      current.search = callbackUrl.search;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: protocolState.code_verifier,
          expectedState: state,
          expectedNonce: protocolState.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw refusalOf(error, 'callback', state);
      }
      const claims = await claimsOf(config, connection, tokens);
      try {
        return identityFromClaims(claims, connection.claimNames);
      } catch (error) {
        throw refusalOf(error, 'callback', state);
      }
    },

    /** Drops a cached discovery (the connection changed or was deleted). */
    forget(connectionId: string): void {
      cache.forget(connectionId);
    },
  };
}

export type OidcFederation = ReturnType<typeof createOidcFederation>;
