import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { backAtClient, CHROMIUM, signInWithPassword } from '../helpers/oidc-fixture.ts';
import { NAMEID_EMAIL } from '../helpers/saml-idp.ts';
import {
  OIDC_CONNECTION,
  OIDC_DOMAIN,
  SAML_CONNECTION,
  SAML_DOMAIN,
  type SsoBrowserWorld,
  signInAtIdp,
  ssoBrowserWorld,
  userIdByEmail,
} from '../helpers/sso-browser-fixture.ts';
import { testEngines } from '../helpers/test-database.ts';

/**
 * Enterprise single sign-on through real Chromium (issue 20): Tessera's hosted sign-in
 * sends the browser to a real OpenID Provider (panva's oidc-provider) or a SAML IdP
 * that signs real responses, both started by the test, and the person comes back
 * signed in: the OAuth client gets a code, the SAML start's redirect URI gets tokens.
 */

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;

for (const engine of testEngines()) {
  describe(`SSO in Chromium (${engine})`, { skip }, () => {
    let sso: SsoBrowserWorld;

    before(async () => {
      sso = await ssoBrowserWorld(engine);
    });
    after(() => sso?.close());

    /** Back at the client with a code: the tokens, and the ID token's claims. */
    async function exchange(
      tab: Page,
      rp: Awaited<ReturnType<SsoBrowserWorld['world']['relyingParty']>>,
      checks: Parameters<typeof rp.complete>[1],
    ) {
      const back = await backAtClient(tab, sso.world.callback);
      const tokens = await rp.complete(back, checks);
      return { tokens, id: decodeJwt(tokens.id_token as string) };
    }

    it('the hosted sign-in page’s IdP button: a code for the just-in-time member, amr fed', async () => {
      const email = `ada@${OIDC_DOMAIN}`;
      sso.oidcIdp.user = { sub: 'okta-ada', email, email_verified: true, name: 'Ada' };
      const rp = await sso.world.relyingParty(sso.pinned);
      const { url, checks } = await rp.begin('openid email profile');
      const { tab, problems } = await sso.tab();
      await tab.goto(url.toString());
      await tab.getByRole('link', { name: `Sign in with ${OIDC_CONNECTION}` }).click();
      // At the IdP (another site), its own sign-in page.
      await tab.locator('#idp-who').waitFor();
      assert.equal(new URL(tab.url()).origin, sso.oidcIdp.issuer);
      await signInAtIdp(tab);
      const { id } = await exchange(tab, rp, checks);
      const userId = await userIdByEmail(sso.world, email);
      assert.ok(userId, 'the person was provisioned just in time');
      assert.equal(id.sub, userId);
      assert.equal(id.tid, 'acme');
      assert.ok((id.amr as string[]).includes('fed'), JSON.stringify(id.amr));
      assert.deepEqual(id.roles, ['viewer']);
      assert.equal(id.email, email);
      assert.deepEqual(problems, []);
      await tab.context().close();
    });

    it('the SSO discovery page routes an address to its IdP by domain', async () => {
      const email = `bo@${OIDC_DOMAIN}`;
      sso.oidcIdp.user = { sub: 'okta-bo', email, email_verified: true, name: 'Bo' };
      const rp = await sso.world.relyingParty(sso.pinned);
      const { url, checks } = await rp.begin('openid email');
      const { tab, problems } = await sso.tab();
      await tab.goto(url.toString());
      await tab.getByRole('link', { name: 'Sign in with single sign-on (SSO)' }).click();
      await tab.getByLabel('Work email').fill(email.toUpperCase());
      await tab.getByRole('button', { name: 'Continue' }).click();
      await tab.getByText(`Your organization signs in with ${OIDC_CONNECTION}`).waitFor();
      await tab.getByRole('link', { name: `Continue to ${OIDC_CONNECTION}` }).click();
      await tab.locator('#idp-who').waitFor();
      await signInAtIdp(tab);
      const { id } = await exchange(tab, rp, checks);
      assert.equal(id.sub, await userIdByEmail(sso.world, email));
      assert.ok((id.amr as string[]).includes('fed'));
      assert.deepEqual(problems, []);
      await tab.context().close();
    });

    it('SAML: start, the IdP’s self-posting signed response, the ACS, tokens at the redirect URI', async () => {
      const { tab, problems } = await sso.tab();
      const before = sso.samlIdp.requests.length;
      await tab.goto(
        `${sso.world.issuer}/sso/${sso.samlConnection.id}/start?redirect_uri=${encodeURIComponent(sso.world.callback.url)}`,
      );
      const back = await backAtClient(tab, sso.world.callback);
      assert.equal(sso.samlIdp.requests.length, before + 1, 'one AuthnRequest reached the IdP');
      const fragment = new URLSearchParams(back.hash.slice(1));
      assert.equal(fragment.get('tenant_id'), 'acme');
      assert.equal(fragment.get('token_type'), 'Bearer');
      // Tokens ride in the fragment: the application's server never saw them.
      assert.equal(sso.world.callback.last()?.search, '');
      const me = await fetch(`${sso.world.issuer}/api/v1/auth/me`, {
        headers: { authorization: `Bearer ${fragment.get('access_token')}` },
      });
      assert.equal(me.status, 200);
      const who = (await me.json()) as { user: { email: string }; roles: string[] };
      assert.equal(who.user.email, `sam@${SAML_DOMAIN}`);
      assert.deepEqual(who.roles, ['viewer']);
      assert.deepEqual(problems, []);
      await tab.context().close();
    });

    it('SAML from the hosted sign-in page: the cross-site POST to the ACS comes back into the request', async () => {
      sso.samlIdp.user = {
        nameId: `eve@${SAML_DOMAIN}`,
        nameIdFormat: NAMEID_EMAIL,
        attributes: { email: `eve@${SAML_DOMAIN}`, name: 'Eve' },
      };
      const rp = await sso.world.relyingParty(sso.pinned);
      const { url, checks } = await rp.begin('openid email');
      const { tab, problems } = await sso.tab();
      await tab.goto(url.toString());
      await tab.getByRole('link', { name: `Sign in with ${SAML_CONNECTION}` }).click();
      const { id } = await exchange(tab, rp, checks);
      assert.equal(id.sub, await userIdByEmail(sso.world, `eve@${SAML_DOMAIN}`));
      assert.equal(id.tid, 'acme');
      assert.ok((id.amr as string[]).includes('fed'));
      assert.deepEqual(problems, []);
      await tab.context().close();
    });

    it('a federated proof of tenant acme yields no code for tenant beta without a fresh sign-in', async () => {
      const email = `cy@${OIDC_DOMAIN}`;
      sso.oidcIdp.user = { sub: 'okta-cy', email, email_verified: true, name: 'Cy' };
      const rp = await sso.world.relyingParty(sso.chooser);
      const first = await rp.begin('openid email', { tenant: 'acme' });
      const { tab } = await sso.tab();
      await tab.goto(first.url.toString());
      await tab.getByRole('link', { name: 'Sign in with single sign-on (SSO)' }).click();
      await tab.getByLabel('Work email').fill(email);
      await tab.getByRole('button', { name: 'Continue' }).click();
      await tab.getByRole('link', { name: `Continue to ${OIDC_CONNECTION}` }).click();
      await signInAtIdp(tab);
      const signedIn = await exchange(tab, rp, first.checks);
      assert.equal(signedIn.id.tid, 'acme');
      assert.ok((signedIn.id.amr as string[]).includes('fed'));

      // She is a member of beta too; the same browser asks for a beta sign-in.
      const userId = (await userIdByEmail(sso.world, email)) as string;
      await sso.world.test.services.tenancy.memberships.grant('beta', userId, ['viewer']);
      // As is, and with prompt=consent: the latter always reaches the hosted pages (the
      // provider cannot answer from the grant it holds for this client).
      const variants: Record<string, string>[] = [
        { tenant: 'beta' },
        { tenant: 'beta', prompt: 'consent' },
      ];
      for (const extra of variants) {
        const second = await rp.begin('openid email', extra);
        const answer = await tab.goto(second.url.toString());
        // Beta is not the client's tenant: consent comes first, and allowing is no sign-in.
        if (await tab.getByRole('heading', { name: 'Allow access?' }).isVisible()) {
          await Promise.all([
            tab.waitForNavigation(),
            tab.getByRole('button', { name: 'Allow' }).click(),
          ]);
        }
        const at = new URL(tab.url());
        const code = at.href.startsWith(sso.world.callback.url)
          ? at.searchParams.get('code')
          : null;
        if (code !== null) {
          const issued = decodeJwt((await rp.complete(at, second.checks)).id_token as string);
          assert.notEqual(
            issued.tid,
            'beta',
            `${JSON.stringify(extra)}: a code for beta on acme's federated proof`,
          );
          // A code for acme: the provider answered from the client's acme grant.
          continue;
        }
        // Asked to sign in again (the hosted sign-in page), or refused with a 4xx.
        const askedAgain = await tab.getByLabel('Email').isVisible();
        const status = answer?.status() ?? 0;
        const refused = (status >= 400 && status < 500) || at.searchParams.has('error');
        assert.ok(askedAgain || refused, `${JSON.stringify(extra)}: at ${tab.url()}`);
      }
      await tab.context().close();
    });

    it('a password at the provider starts no session in a tenant enforcing SSO', async () => {
      // Beta signs its members in through its own IdP only; Pat belongs to acme and beta.
      const boss = await sso.world.user('boss@beta.example', { beta: ['admin'] });
      await sso.world.user('pat@example.org', { acme: ['viewer'], beta: ['viewer'] });
      const connection = await sso.api('POST', '/api/v1/sso/connections', {
        tenant: 'beta',
        body: {
          type: 'saml',
          name: 'Beta IdP',
          saml: {
            idp_entity_id: 'https://idp.beta.example/saml',
            sso_url: 'https://idp.beta.example/sso',
            certificates: [sso.samlIdp.certificate],
          },
        },
      });
      assert.equal(connection.status, 201, JSON.stringify(connection.json));
      const enforced = await sso.api('PATCH', '/api/v1/tenants/beta/sign-in-settings', {
        tenant: 'beta',
        body: { sso_enforced: true, sso_break_glass: [boss] },
      });
      assert.equal(enforced.status, 200, JSON.stringify(enforced.json));

      const rp = await sso.world.relyingParty(sso.chooser);
      const request = await rp.begin('openid email', { tenant: 'beta' });
      const { tab, problems } = await sso.tab();
      await tab.goto(request.url.toString());
      await signInWithPassword(tab, 'pat@example.org');
      await tab.getByText(/single sign-on only/).waitFor();
      assert.ok(!tab.url().startsWith(sso.world.callback.url), 'no code for beta');
      assert.deepEqual(problems, []);
      await tab.context().close();
    });
  });
}
