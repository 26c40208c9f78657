/**
 * A minimal relying party for Tessera's OpenID Provider, in plain Node with
 * openid-client (panva). docs/oidc.md shows it; test/e2e/oidc-browser.test.ts runs it.
 *
 *   const rp = await relyingParty({ issuer, clientId, clientSecret, redirectUri });
 *   const { url, checks } = await rp.begin('openid email offline_access events:read');
 *   // send the browser to `url`; it comes back to redirectUri?code=...&state=...
 *   const tokens = await rp.complete(new URL(callbackUrl), checks);
 */
import * as client from 'openid-client';

export interface RelyingPartyOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** A confidential client's secret; omit for a public client (PKCE alone). */
  readonly clientSecret?: string;
  readonly redirectUri: string;
  /** Only for an issuer on plain http (a local trial, a test): never in production. */
  readonly allowHttp?: boolean;
}

/** What `begin` remembers for `complete` (keep it in the user's session, server-side). */
export interface SignInChecks {
  readonly pkceCodeVerifier: string;
  readonly expectedState: string;
  readonly expectedNonce: string;
}

export async function relyingParty(options: RelyingPartyOptions) {
  const auth =
    options.clientSecret === undefined
      ? client.None()
      : client.ClientSecretBasic(options.clientSecret);
  const config = await client.discovery(
    new URL(options.issuer),
    options.clientId,
    undefined,
    auth,
    options.allowHttp ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  return {
    config,
    /** Where to send the browser, and what to check when it comes back. */
    async begin(scope: string, extra: Record<string, string> = {}) {
      const checks: SignInChecks = {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: client.randomState(),
        expectedNonce: client.randomNonce(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(checks.pkceCodeVerifier),
        code_challenge_method: 'S256',
        state: checks.expectedState,
        nonce: checks.expectedNonce,
        // OpenID Connect Core §11: a refresh token (offline_access) is issued only
        // when the request asks for consent.
        ...(scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
        ...extra,
      });
      return { url, checks };
    },
    /** Exchanges the code of the callback URL; the ID token is verified on the way. */
    complete(callbackUrl: URL, checks: SignInChecks) {
      return client.authorizationCodeGrant(config, callbackUrl, checks);
    },
    refresh: (refreshToken: string) => client.refreshTokenGrant(config, refreshToken),
    userInfo: (accessToken: string, subject: string) =>
      client.fetchUserInfo(config, accessToken, subject),
    machineToken: (scope: string) => client.clientCredentialsGrant(config, { scope }),
    introspect: (token: string) => client.tokenIntrospection(config, token),
    revoke: (token: string) => client.tokenRevocation(config, token),
    logoutUrl: (idToken: string, postLogoutRedirectUri: string) =>
      client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: postLogoutRedirectUri,
      }),
  };
}
