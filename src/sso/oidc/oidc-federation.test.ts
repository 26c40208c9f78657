import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type OidcIdp, startOidcIdp } from '../../../test/helpers/oidc-idp.ts';
import { FederationRefused, OIDC_CLAIM_DEFAULTS } from '../federated-identity.ts';
import { createOidcFederation, type OidcConnection } from './oidc-federation.ts';

/**
 * The relying party against a real OpenID Provider (test/helpers/oidc-idp.ts): codes
 * come from the IdP's own sign-in, so every check (state, nonce, PKCE, the ID token's
 * signature and claims, one use per code) is the library's against real answers.
 */

const REDIRECT = 'https://tessera.test/sso/oidc/callback';
const SECRET = 'a-client-secret-long-enough-for-the-idp';

async function refusal(promise: Promise<unknown>, reason: string): Promise<FederationRefused> {
  const error = await promise.then(
    () => assert.fail(`expected ${reason}, but it succeeded`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof FederationRefused, `not a FederationRefused: ${String(error)}`);
  assert.equal(error.reason, reason, error.message);
  return error;
}

/** A server on 127.0.0.1 that accepts connections and never answers. */
async function hungServer(): Promise<{ url: string; server: Server }> {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Serves a discovery document (given its own address) at every path. */
async function documentServer(
  document: (url: string) => unknown,
): Promise<{ url: string; server: Server }> {
  let url = '';
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(document(url)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server };
}

describe('OpenID Connect federation (relying party)', () => {
  let idp: OidcIdp;
  let connection: OidcConnection;
  let clock = Date.now();
  const federation = () =>
    createOidcFederation({
      allowInsecureUrls: true,
      clockSkewSeconds: 60,
      timeoutMs: 5000,
      now: () => clock,
    });
  let rp = federation();

  before(async () => {
    idp = await startOidcIdp({
      clients: [{ client_id: 'tessera-rp', client_secret: SECRET, redirect_uris: [REDIRECT] }],
    });
    connection = {
      id: 'conn-1',
      settings: {
        issuer: idp.issuer,
        client_id: 'tessera-rp',
        scopes: ['openid', 'email', 'profile'],
      },
      clientSecret: SECRET,
      claimNames: OIDC_CLAIM_DEFAULTS,
    };
  });
  after(() => idp?.close());
  beforeEach(() => {
    rp = federation();
    idp.emailInIdToken = true;
    idp.userinfoSub = undefined;
    idp.user = {
      sub: 'idp-ada',
      email: ' Ada@Example.COM ',
      email_verified: true,
      name: 'Ada Lovelace',
      groups: ['engineers', 'admins'],
    };
  });

  /** A real sign-in at the IdP, up to the callback URL it sends the browser to. */
  async function signIn(state = 'state-1', options?: { deny?: boolean }) {
    const started = await rp.begin(connection, REDIRECT, state);
    const callback = await idp.authorize(started.url, options);
    return { ...started, callback };
  }

  it('signs in: the claims mapped, groups, amr, email verified', async () => {
    const { url, callback, protocolState } = await signIn();
    const sent = new URL(url);
    assert.equal(sent.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(sent.searchParams.get('state'), 'state-1');
    assert.equal(sent.searchParams.get('nonce'), protocolState.nonce);
    assert.equal(sent.searchParams.get('scope'), 'openid email profile');
    assert.equal(callback.origin + callback.pathname, REDIRECT);

    const identity = await rp.complete(connection, REDIRECT, callback, 'state-1', protocolState);
    assert.equal(identity.subject, 'idp-ada');
    assert.equal(identity.email, 'ada@example.com');
    assert.equal(identity.emailVerified, true);
    assert.equal(identity.name, 'Ada Lovelace');
    assert.deepEqual(identity.groups, ['engineers', 'admins']);
    assert.deepEqual(identity.amr, ['pwd']);
    assert.equal(identity.claims.iss, idp.issuer);
    assert.equal(identity.claims.aud, 'tessera-rp');
    assert.equal(identity.claims.nonce, protocolState.nonce);
  });

  it('an unverified email, a single group and another claim mapping', async () => {
    idp.user = { sub: 'idp-bob', email: 'bob@example.com', email_verified: false, groups: 'ops' };
    const mapped = { ...connection, claimNames: { ...OIDC_CLAIM_DEFAULTS, groups: 'groups' } };
    const { callback, protocolState } = await signIn();
    const identity = await rp.complete(mapped, REDIRECT, callback, 'state-1', protocolState);
    assert.equal(identity.email, 'bob@example.com');
    assert.equal(identity.emailVerified, false);
    assert.equal(identity.name, undefined);
    assert.deepEqual(identity.groups, ['ops']);

    // A claim name the IdP does not send: no groups, no name.
    idp.user = { sub: 'idp-bob', email: 'bob@example.com', groups: { not: 'a list' } };
    const second = await signIn();
    const other = await rp.complete(
      { ...connection, claimNames: { ...OIDC_CLAIM_DEFAULTS, name: 'display_name' } },
      REDIRECT,
      second.callback,
      'state-1',
      second.protocolState,
    );
    assert.deepEqual(other.groups, []);
    assert.equal(other.emailVerified, false);
  });

  it('reads the email from UserInfo when the ID token has none', async () => {
    idp.emailInIdToken = false;
    const { callback, protocolState } = await signIn();
    const identity = await rp.complete(connection, REDIRECT, callback, 'state-1', protocolState);
    assert.equal(identity.email, 'ada@example.com');
    assert.equal(identity.emailVerified, true);
    assert.equal(identity.subject, 'idp-ada');
    // Merged: the ID token's own claims beside UserInfo's.
    assert.equal(identity.claims.nonce, protocolState.nonce);
    assert.equal(identity.claims.email, ' Ada@Example.COM ');
  });

  it('refuses a UserInfo answer about another subject', async () => {
    idp.emailInIdToken = false;
    idp.userinfoSub = 'idp-someone-else';
    const { callback, protocolState } = await signIn();
    const refused = await refusal(
      rp.complete(connection, REDIRECT, callback, 'state-1', protocolState),
      'invalid_response',
    );
    assert.match(refused.message, /userinfo/);
  });

  it('refuses a callback for another state', async () => {
    const { callback, protocolState } = await signIn('state-1');
    await refusal(
      rp.complete(connection, REDIRECT, callback, 'state-2', protocolState),
      'state_mismatch',
    );
  });

  it('refuses an ID token for another nonce', async () => {
    const { callback, protocolState } = await signIn();
    const other = { ...protocolState, nonce: 'another-nonce' };
    await refusal(rp.complete(connection, REDIRECT, callback, 'state-1', other), 'nonce_mismatch');
  });

  it('refuses another PKCE verifier at the token endpoint', async () => {
    const { callback, protocolState } = await signIn();
    const other = { ...protocolState, code_verifier: 'x'.repeat(43) };
    const refused = await refusal(
      rp.complete(connection, REDIRECT, callback, 'state-1', other),
      'token_exchange_failed',
    );
    assert.match(refused.message, /invalid_grant/);
  });

  it('redeems a code once', async () => {
    const { callback, protocolState } = await signIn();
    await rp.complete(connection, REDIRECT, callback, 'state-1', protocolState);
    await refusal(
      rp.complete(connection, REDIRECT, callback, 'state-1', protocolState),
      'token_exchange_failed',
    );
  });

  it('an error from the IdP (the user cancelled) is idp_error', async () => {
    const { callback, protocolState } = await signIn('state-1', { deny: true });
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    const refused = await refusal(
      rp.complete(connection, REDIRECT, callback, 'state-1', protocolState),
      'idp_error',
    );
    assert.match(refused.message, /^access_denied/);

    // The same error, with a forged state: the state is checked first.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'state-9');
    await refusal(
      rp.complete(connection, REDIRECT, forged, 'state-1', protocolState),
      'state_mismatch',
    );
  });

  it('a wrong client secret fails the token exchange', async () => {
    const wrong = { ...connection, id: 'conn-wrong-secret', clientSecret: 'not-the-secret' };
    const started = await rp.begin(wrong, REDIRECT, 'state-1');
    const callback = await idp.authorize(started.url);
    const refused = await refusal(
      rp.complete(wrong, REDIRECT, callback, 'state-1', started.protocolState),
      'token_exchange_failed',
    );
    assert.match(refused.message, /invalid_client/);
  });

  it('discovers the IdP, and refuses a document naming another issuer', async () => {
    assert.deepEqual(await rp.discover(connection), {
      issuer: idp.issuer,
      authorization_endpoint: `${idp.issuer}/auth`,
    });
    // The real IdP's document served at another address: its issuer is not that address.
    const document = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    const mirror = await documentServer(() => document);
    try {
      const elsewhere = { ...connection, id: 'conn-mirror' };
      const settings = { ...connection.settings, issuer: mirror.url };
      await refusal(rp.discover({ ...elsewhere, settings }), 'discovery_failed');
      await refusal(rp.begin({ ...elsewhere, settings }, REDIRECT, 's'), 'discovery_failed');
    } finally {
      mirror.server.close();
    }
    // Exactly the issuer: with a trailing slash it is another string.
    const slash = { ...connection.settings, issuer: `${idp.issuer}/` };
    const refused = await refusal(
      rp.discover({ ...connection, id: 'conn-slash', settings: slash }),
      'discovery_failed',
    );
    assert.match(refused.message, /names issuer/);
  });

  it('reuses a discovery for its TTL, until forgotten or the settings change', async () => {
    const fresh = createOidcFederation({
      allowInsecureUrls: true,
      clockSkewSeconds: 60,
      discoveryTtlMs: 60_000,
      now: () => clock,
    });
    const at = idp.discoveryRequests;
    await fresh.begin(connection, REDIRECT, 's1');
    await fresh.begin(connection, REDIRECT, 's2');
    assert.equal(idp.discoveryRequests, at + 1);

    clock += 60_001;
    await fresh.begin(connection, REDIRECT, 's3');
    assert.equal(idp.discoveryRequests, at + 2);

    fresh.forget(connection.id);
    await fresh.begin(connection, REDIRECT, 's4');
    assert.equal(idp.discoveryRequests, at + 3);

    // Another secret under the same id: discovered again, never the old configuration.
    await fresh.begin({ ...connection, clientSecret: 'rotated' }, REDIRECT, 's5');
    assert.equal(idp.discoveryRequests, at + 4);

    // discover() (a connection tested) always asks the IdP.
    await fresh.discover(connection);
    assert.equal(idp.discoveryRequests, at + 5);
  });

  it('refuses an http issuer unless insecure URLs are allowed', async () => {
    const strict = createOidcFederation({ allowInsecureUrls: false, clockSkewSeconds: 60 });
    const refused = await refusal(strict.discover(connection), 'discovery_failed');
    assert.match(refused.message, /HTTPS/);
    await refusal(strict.begin(connection, REDIRECT, 's'), 'discovery_failed');
  });

  it('gives up on an IdP that never answers, after the timeout', async () => {
    const hung = await hungServer();
    try {
      const impatient = createOidcFederation({
        allowInsecureUrls: true,
        clockSkewSeconds: 60,
        timeoutMs: 300,
      });
      const stuck = { ...connection, settings: { ...connection.settings, issuer: hung.url } };
      const refused = await refusal(impatient.discover(stuck), 'discovery_failed');
      assert.match(refused.message, /timed out/);

      // Discovery answers, the token endpoint never does.
      const idpDocument = (await (
        await fetch(`${idp.issuer}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      const slow = await documentServer((url) => ({
        ...idpDocument,
        issuer: url,
        token_endpoint: `${hung.url}/token`,
        authorization_response_iss_parameter_supported: false,
      }));
      try {
        const slowToken = { ...connection, settings: { ...connection.settings, issuer: slow.url } };
        const { protocolState } = await impatient.begin(slowToken, REDIRECT, 'state-1');
        const callback = new URL(`${REDIRECT}?code=a-code&state=state-1`);
        const late = await refusal(
          impatient.complete(slowToken, REDIRECT, callback, 'state-1', protocolState),
          'token_exchange_failed',
        );
        assert.match(late.message, /timed out/);
      } finally {
        slow.server.close();
      }
    } finally {
      hung.server.closeAllConnections();
      hung.server.close();
    }
  });
});
