import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import { type OidcIdp, startOidcIdp } from './oidc-idp.ts';
import { APP_URL, BASE, type SsoWorld, ssoWorld } from './sso-fixture.ts';

/** Single sign-on through the OIDC test IdP over HTTP (no browser): its steps for tests. */

export const CLIENT = { client_id: 'tessera', client_secret: 'idp-secret-of-tessera' };

/** The OIDC test IdP and Tessera (not listening), SSO allowed over http. */
export async function oidcWorld(t: TestContext, engine: Engine, config: DeepPartial<Config> = {}) {
  const idp = await startOidcIdp({
    clients: [{ ...CLIENT, redirect_uris: [`${BASE}/sso/oidc/*`] }],
  });
  t.after(() => idp.close());
  return { idp, sso: await ssoWorld(t, engine, config) };
}

/** An OIDC connection of `tenant`, through the API; its JSON. */
export async function connect(sso: SsoWorld, idp: OidcIdp, tenant = 'acme', extra: object = {}) {
  const created = await sso.api('POST', '/api/v1/sso/connections', {
    tenant,
    body: {
      type: 'oidc',
      name: 'Acme IdP',
      domains: [`${tenant}.example`],
      oidc: { issuer: idp.issuer, ...CLIENT },
      mapping: {
        default_roles: ['viewer'],
        groups: [{ group: 'engineers', roles: ['developer'] }],
      },
      ...extra,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json;
}

/** SP-initiated sign-in, over HTTP: start, the IdP, the callback, the completion. */
export async function signIn(sso: SsoWorld, idp: OidcIdp, connectionId: string, jar = new Map()) {
  const start = await sso.browse(
    `/sso/${connectionId}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
    { jar },
  );
  assert.equal(start.status, 303, start.body);
  const callback = await idp.authorize(start.location);
  const back = await sso.browse(callback.toString(), { jar });
  assert.equal(back.status, 303, back.body);
  assert.match(back.location, /^\/sso\/complete\//);
  return { back, done: await sso.browse(back.location, { jar }) };
}

export async function me(sso: SsoWorld, accessToken: string) {
  const response = await sso.test.app.inject({
    url: '/api/v1/auth/me',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return { status: response.statusCode, json: response.json() };
}
