import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type Callback, CHROMIUM, callbackServer } from '../../../test/helpers/oidc-fixture.ts';
import { type OidcIdp, startOidcIdp } from '../../../test/helpers/oidc-idp.ts';
import { OIDC_CLAIM_DEFAULTS } from '../federated-identity.ts';
import { createOidcFederation, type OidcConnection } from './oidc-federation.ts';

/**
 * The test IdP's sign-in page in real Chromium (the end-to-end SSO tests drive it so):
 * the browser follows the IdP's redirects, clicks "Sign in", and comes back to the
 * relying party with a code the federation redeems.
 */

// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;
const SECRET = 'browser-client-secret-for-the-test-idp';

describe('OpenID Connect federation, sign-in at the test IdP in Chromium', { skip }, () => {
  let idp: OidcIdp;
  let callback: Callback;
  let browser: Browser;
  let connection: OidcConnection;
  const rp = createOidcFederation({ allowInsecureUrls: true, clockSkewSeconds: 60 });

  before(async () => {
    callback = await callbackServer();
    idp = await startOidcIdp({
      clients: [{ client_id: 'browser-rp', client_secret: SECRET, redirect_uris: [callback.url] }],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    connection = {
      id: 'browser-conn',
      settings: {
        issuer: idp.issuer,
        client_id: 'browser-rp',
        scopes: ['openid', 'email', 'profile'],
      },
      clientSecret: SECRET,
      claimNames: OIDC_CLAIM_DEFAULTS,
    };
  });
  after(async () => {
    await browser?.close();
    await idp?.close();
    await callback?.close();
  });

  it('shows who signs in, and the button brings the browser back with a code', async () => {
    idp.user = {
      sub: 'idp-grace',
      email: 'grace@example.com',
      email_verified: true,
      name: 'Grace Hopper',
      groups: ['navy'],
    };
    const { url, protocolState } = await rp.begin(connection, callback.url, 'browser-state');
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(url);
      assert.match((await tab.locator('#idp-who').textContent()) ?? '', /Grace Hopper/);
      await tab.click('#idp-sign-in');
      await tab.waitForURL((at) => at.toString().startsWith(callback.url), { timeout: 15_000 });
      const back = new URL(tab.url());
      assert.ok(back.searchParams.get('code'));
      const identity = await rp.complete(
        connection,
        callback.url,
        back,
        'browser-state',
        protocolState,
      );
      assert.equal(identity.subject, 'idp-grace');
      assert.equal(identity.email, 'grace@example.com');
      assert.deepEqual(identity.groups, ['navy']);
    } finally {
      await context.close();
    }
  });
});
