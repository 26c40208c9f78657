import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CHROMIUM } from '../helpers/oidc-fixture.ts';
import { PAGE_WIDTHS, saveScreenshots } from '../helpers/oidc-screenshots.ts';
import {
  OIDC_CONNECTION,
  OIDC_DOMAIN,
  SAML_CONNECTION,
  type SsoBrowserWorld,
  signInAtIdp,
  ssoBrowserWorld,
} from '../helpers/sso-browser-fixture.ts';
import { CLIENT } from '../helpers/sso-oidc-flow.ts';

/**
 * The single sign-on pages a person sees (issue 20), in Chromium at a phone's width and
 * a desktop's: the hosted sign-in page's IdP buttons, the discovery page and the page
 * it leads to, an administrator's connection test report, and a refused sign-in. Each
 * passes its CSP (no violation reported), has one heading, no inline style and nothing
 * wider than the screen, long ids and URLs included. With TESSERA_SCREENSHOTS=1 each
 * is saved to docs/images/sso-<page>-<phone|desktop>.png.
 */

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;

describe('SSO pages: what a person sees, within its CSP and the screen', { skip }, () => {
  let sso: SsoBrowserWorld;

  before(async () => {
    sso = await ssoBrowserWorld('sqlite');
  });
  after(() => sso?.close());

  async function check(tab: Page, problems: readonly string[], name: string): Promise<void> {
    assert.deepEqual(problems, [], `${name}: no CSP violation, no script error`);
    assert.equal(await tab.locator('h1').count(), 1, `${name}: one heading`);
    assert.equal(await tab.locator('[style]').count(), 0, `${name}: no inline style attribute`);
    for (const size of Object.values(PAGE_WIDTHS)) {
      await tab.setViewportSize(size);
      const wider = (await tab.evaluate(
        'document.documentElement.scrollWidth > window.innerWidth',
      )) as boolean;
      assert.equal(wider, false, `${name}: no sideways scrolling at ${size.width}px`);
    }
    await saveScreenshots(tab, name, 'sso');
    await tab.setViewportSize(PAGE_WIDTHS.desktop);
  }

  /** The response headers of the page now shown (a reload of a GET changes nothing). */
  async function cspOf(tab: Page): Promise<string> {
    const response = await tab.reload();
    return response?.headers()['content-security-policy'] ?? '';
  }

  it('the hosted sign-in page offers the tenant’s IdPs; discovery leads to one by address', async () => {
    const rp = await sso.world.relyingParty(sso.pinned);
    const { url } = await rp.begin('openid email');
    const { tab, problems } = await sso.tab();
    await tab.goto(url.toString());
    await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
    for (const name of [OIDC_CONNECTION, SAML_CONNECTION]) {
      assert.ok(await tab.getByRole('link', { name: `Sign in with ${name}` }).isVisible(), name);
    }
    await check(tab, problems, 'sign-in');

    await tab.getByRole('link', { name: 'Sign in with single sign-on (SSO)' }).click();
    await tab.getByRole('heading', { name: 'Single sign-on' }).waitFor();
    assert.ok(await tab.getByLabel('Work email').isVisible());
    assert.doesNotMatch(await cspOf(tab), /unsafe-inline/);
    await check(tab, problems, 'discovery');

    // An address no IdP claims: the page again, saying so.
    await tab.getByLabel('Work email').fill('someone@elsewhere.example');
    await tab.getByRole('button', { name: 'Continue' }).click();
    await tab.getByRole('alert').waitFor();
    assert.match(
      (await tab.getByRole('alert').textContent()) ?? '',
      /Single sign-on is not set up for this address/,
    );
    await check(tab, problems, 'discovery-unknown');

    await tab.getByLabel('Work email').fill(`dee@${OIDC_DOMAIN}`);
    await tab.getByRole('button', { name: 'Continue' }).click();
    await tab.getByText(`Your organization signs in with ${OIDC_CONNECTION}`).waitFor();
    assert.ok(await tab.getByRole('link', { name: `Continue to ${OIDC_CONNECTION}` }).isVisible());
    await check(tab, problems, 'continue');
    await tab.context().close();
  });

  it('an administrator’s connection test shows what the IdP said, long values wrapped', async () => {
    // Long values, as real IdPs send: an opaque subject, a long address, many groups.
    const sub = `00u${'a1b2c3d4e5'.repeat(8)}`;
    const email = `first.middle.last.${'x'.repeat(40)}@${OIDC_DOMAIN}`;
    const groups = ['engineering', `urn:example:groups:${'platform-'.repeat(8)}admins`];
    sso.oidcIdp.user = { sub, email, email_verified: true, name: 'Dee', groups };
    const started = await sso.api('POST', `/api/v1/sso/connections/${sso.oidcConnection.id}/test`);
    assert.equal(started.status, 200, JSON.stringify(started.json));
    const { tab, problems } = await sso.tab();
    await tab.goto(started.json.url);
    // The report is shown once (its request is spent by it): its headers as it loads.
    const [report] = await Promise.all([
      tab.waitForResponse((response) => response.url().includes('/sso/complete/')),
      signInAtIdp(tab),
    ]);
    await tab.getByRole('heading', { name: 'Connection test passed' }).waitFor();
    assert.match((await tab.locator('#sso-test-ok').textContent()) ?? '', /Nobody was signed in/);
    assert.ok(await tab.getByText(`${OIDC_CONNECTION} (oidc)`).isVisible());
    assert.equal(await tab.locator('#sso-test-subject').textContent(), sub);
    assert.match((await tab.locator('#sso-test-email').textContent()) ?? '', /\(verified\)/);
    assert.equal(await tab.locator('#sso-test-roles').textContent(), 'viewer');
    assert.ok(await tab.getByRole('cell', { name: JSON.stringify(groups) }).isVisible());
    const csp = report.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    // Nobody was signed in: no account for the address.
    const made = await sso.world.test.db.kysely
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    assert.equal(made.length, 0);
    await check(tab, problems, 'test-report');
    await tab.context().close();
  });

  it('a disabled connection refuses the sign-in with a page saying why', async () => {
    const created = await sso.api('POST', '/api/v1/sso/connections', {
      body: {
        type: 'oidc',
        name: 'Retired IdP',
        enabled: false,
        oidc: { issuer: sso.oidcIdp.issuer, ...CLIENT },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const { tab, problems } = await sso.tab();
    const answer = await tab.goto(
      `${sso.world.issuer}/sso/${created.json.id}/start?redirect_uri=${encodeURIComponent(sso.world.callback.url)}`,
    );
    assert.equal(answer?.status(), 403);
    assert.match(answer?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    await tab.getByRole('heading', { name: 'Single sign-on did not work' }).waitFor();
    assert.match(
      (await tab.getByRole('alert').textContent()) ?? '',
      /Retired IdP is disabled; sign in another way/,
    );
    await check(tab, problems, 'error');
    await tab.context().close();
  });
});
