import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type * as client from 'openid-client';
import {
  backAtClient,
  CHROMIUM,
  type OidcWorld,
  oidcWorld,
  signInWithPassword,
} from '../helpers/oidc-fixture.ts';
import { testEngines } from '../helpers/test-database.ts';

/**
 * Tessera as an OpenID Provider (issue 19), end to end: a relying party built with
 * openid-client (docs/examples/relying-party.ts) runs the authorization code flow with
 * PKCE while real Chromium fills the hosted pages; tokens are verified with jose
 * against the published JWKS and used on the API through the same guard as any other.
 */

// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;
const API_SCOPES = 'openid email profile offline_access events:read';

for (const engine of testEngines()) {
  describe(`OpenID Provider, code flow in Chromium (${engine})`, { skip }, () => {
    let world: OidcWorld;
    let app: { id: string; client_secret?: string };
    let adaId: string;

    before(async () => {
      world = await oidcWorld(engine);
      adaId = await world.user('ada@example.com', { acme: ['admin'] });
      app = await world.registerClient('acme', {
        name: 'Acme Console',
        type: 'confidential',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [world.callback.url],
        scopes: ['openid', 'email', 'profile', 'offline_access', 'events:read'],
        first_party: true,
      });
    });
    after(() => world?.close());

    /** The whole flow for ada: sign in on the hosted page, back with a code, tokens. */
    async function signIn(scope = API_SCOPES) {
      const rp = await world.relyingParty(app);
      const { url, checks } = await rp.begin(scope);
      const tab = await world.tab();
      await tab.goto(url.toString());
      await signInWithPassword(tab, 'ada@example.com');
      const back = await backAtClient(tab, world.callback);
      await tab.context().close();
      return { rp, tokens: await rp.complete(back, checks), checks };
    }

    it('publishes complete discovery, at both well-known addresses', async () => {
      const openid = (await (
        await fetch(`${world.issuer}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      const oauth = (await (
        await fetch(`${world.issuer}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>;
      assert.deepEqual(oauth, openid);
      assert.equal(openid.issuer, world.issuer);
      for (const endpoint of [
        'authorization_endpoint',
        'token_endpoint',
        'userinfo_endpoint',
        'revocation_endpoint',
        'introspection_endpoint',
        'end_session_endpoint',
      ]) {
        assert.match(String(openid[endpoint]), /^http:\/\/127\.0\.0\.1:\d+\/oauth2\//, endpoint);
      }
      assert.equal(openid.jwks_uri, `${world.issuer}/.well-known/jwks.json`);
      assert.deepEqual(openid.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(openid.response_types_supported, ['code']);
      assert.deepEqual([...(openid.grant_types_supported as string[])].sort(), [
        'authorization_code',
        'client_credentials',
        'refresh_token',
      ]);
      assert.deepEqual(openid.id_token_signing_alg_values_supported, ['EdDSA']);
    });

    it('signs in with a password: ID token and access token verify against the JWKS', async () => {
      const { tokens, checks } = await signIn();
      const jwks = createRemoteJWKSet(new URL(`${world.issuer}/.well-known/jwks.json`));
      const id = await jwtVerify(tokens.id_token as string, jwks, {
        issuer: world.issuer,
        audience: app.id,
        algorithms: ['EdDSA'],
      });
      assert.equal(id.payload.sub, adaId);
      assert.equal(id.payload.nonce, checks.expectedNonce);
      assert.equal(id.payload.tid, 'acme');
      assert.deepEqual(id.payload.roles, ['admin']);
      assert.deepEqual(id.payload.amr, ['pwd']);
      assert.equal(id.payload.acr, 'urn:tessera:acr:1fa');
      assert.equal(id.payload.email, 'ada@example.com');
      assert.equal(typeof id.payload.auth_time, 'number');

      const access = await jwtVerify(tokens.access_token, jwks, {
        issuer: world.issuer,
        audience: 'tessera',
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
      });
      assert.equal(access.payload.sub, adaId);
      assert.equal(access.payload.tid, 'acme');
      assert.equal(access.payload.client_id, app.id);
      assert.equal(typeof access.payload.sid, 'string');

      // The same guard as every Tessera token: the scope bounds the admin's roles.
      const events = await world.test.app.inject({
        method: 'GET',
        url: '/api/v1/entities/order-1/events',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(events.statusCode, 200, events.body);
      const users = await world.test.app.inject({
        method: 'GET',
        url: '/api/v1/users',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(users.statusCode, 403, users.body);
      assert.equal(users.json().code, 'permission_denied');
    });

    it('rotates refresh tokens; a reused one ends the grant and its session', async () => {
      const { rp, tokens } = await signIn();
      const first = tokens.refresh_token as string;
      const refreshed = await rp.refresh(first);
      assert.notEqual(refreshed.refresh_token, first);
      assert.equal(decodeJwt(refreshed.access_token).sid, decodeJwt(tokens.access_token).sid);
      await assert.rejects(rp.refresh(first), (error: client.ResponseBodyError) => {
        assert.equal(error.error, 'invalid_grant');
        return true;
      });
      // Reuse revoked the grant: the successor is dead too, and so is the session.
      await assert.rejects(rp.refresh(refreshed.refresh_token as string));
      const after = await world.test.app.inject({
        method: 'GET',
        url: '/api/v1/entities/order-1/events',
        headers: { authorization: `Bearer ${refreshed.access_token}` },
      });
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().code, 'session_revoked');
    });

    it('answers UserInfo for an openid-only sign-in', async () => {
      const { rp, tokens } = await signIn('openid email profile');
      const info = await rp.userInfo(tokens.access_token, adaId);
      assert.equal(info.sub, adaId);
      assert.equal(info.email, 'ada@example.com');
      assert.equal(info.email_verified, false);
    });

    it('introspects and revokes a refresh token (RFC 7662, RFC 7009); logout ends the rest', async () => {
      const { rp, tokens } = await signIn();
      const refresh = tokens.refresh_token as string;
      const active = await rp.introspect(refresh);
      assert.equal(active.active, true);
      assert.equal(active.sub, adaId);
      assert.equal(active.client_id, app.id);
      await rp.revoke(refresh);
      assert.equal((await rp.introspect(refresh)).active, false);
      const api = await world.test.app.inject({
        method: 'GET',
        url: '/api/v1/entities/order-1/events',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(api.statusCode, 401, 'revoking the grant ended its session');
    });

    it('signs with a rotated key at once; tokens of the previous key still verify', async () => {
      const before = await signIn('openid email');
      const jwks = createRemoteJWKSet(new URL(`${world.issuer}/.well-known/jwks.json`), {
        cooldownDuration: 0,
      });
      const { kid } = await world.test.services.identity.keys.rotate();
      const after = await signIn('openid email');
      const header = JSON.parse(
        Buffer.from(String(after.tokens.id_token).split('.')[0] ?? '', 'base64url').toString(),
      ) as { kid: string };
      assert.equal(header.kid, kid);
      for (const token of [before.tokens.id_token, after.tokens.id_token]) {
        await jwtVerify(token as string, jwks, { issuer: world.issuer, audience: app.id });
      }
    });

    it('a Tessera logout with the access token ends the grant: its refresh token fails', async () => {
      const { rp, tokens } = await signIn();
      const logout = await world.test.app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(logout.statusCode, 204, logout.body);
      await assert.rejects(rp.refresh(tokens.refresh_token as string));
    });
  });
}
