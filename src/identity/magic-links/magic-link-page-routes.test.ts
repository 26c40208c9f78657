import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  type MagicLinkTestApp,
  magicLinkTestApp,
  PASSWORD,
} from '../../../test/helpers/magic-link-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { totpCode } from '../../../test/helpers/totp.ts';

interface Page {
  readonly status: number;
  readonly html: string;
  readonly headers: Record<string, unknown>;
}

/** The hidden fields of a page's form, and the CSRF cookie that goes with them. */
interface SignInForm {
  readonly fields: Record<string, string>;
  readonly cookie: string;
}

const hidden = (html: string, name: string) =>
  new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html)?.[1];

for (const engine of testEngines()) {
  describe(`the magic link page (${engine})`, () => {
    let test: MagicLinkTestApp;
    before(async () => {
      test = await magicLinkTestApp(engine);
    });
    after(() => test?.close());

    async function open(token: string | undefined): Promise<Page> {
      const response = await test.app.inject({
        method: 'GET',
        url: '/auth/magic-link',
        ...(token === undefined ? {} : { query: { token } }),
      });
      return { status: response.statusCode, html: response.body, headers: response.headers };
    }

    /** What a browser submits from the page it opened. */
    function formOf(page: Page): SignInForm {
      const cookie = String(page.headers['set-cookie'] ?? '').split(';')[0] ?? '';
      assert.match(cookie, /^tessera_csrf=/);
      return {
        fields: {
          _csrf: hidden(page.html, '_csrf') ?? '',
          token: hidden(page.html, 'token') ?? '',
        },
        cookie,
      };
    }

    async function submit(form: SignInForm, fields: Record<string, string> = form.fields) {
      return test.app.inject({
        method: 'POST',
        url: '/auth/magic-link',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
        payload: new URLSearchParams(fields).toString(),
      });
    }

    async function linkFor(email: string, tenant: string, body: Record<string, string> = {}) {
      await test.member(email, [tenant]);
      const requested = await test.requestLink({ email, ...body });
      assert.equal(requested.status, 202, JSON.stringify(requested.body));
      return test.nextLink(email);
    }

    it('shows a Sign in button without using the link; the button signs in and redirects with the tokens in the fragment', async () => {
      await test.allowRedirects('acme', ['https://app.acme.test/done', 'https://other.acme.test/']);
      const token = await linkFor('ada@acme.test', 'acme');
      // A mail scanner's prefetch and the person's own click: neither uses the link.
      await open(token);
      const page = await open(token);
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.html, /<html lang="en">/);
      assert.match(page.html, /<title>Sign in<\/title>/);
      assert.match(
        page.html,
        /Sign in to <strong>acme<\/strong> as <strong>ada@acme\.test<\/strong>/,
      );
      assert.match(page.html, /<form method="post" action="magic-link">/);
      assert.match(page.html, /<button type="submit">Sign in<\/button>/);
      assert.match(String(page.headers['content-security-policy']), /form-action 'self'/);

      const form = formOf(page);
      assert.equal(form.fields.token, token);
      const signedIn = await submit(form);
      assert.equal(signedIn.statusCode, 303, signedIn.body);
      const location = new URL(String(signedIn.headers.location));
      // The tenant's first redirect URI (the request named none); nothing in the query.
      assert.equal(`${location.origin}${location.pathname}`, 'https://app.acme.test/done');
      assert.equal(location.search, '');
      const fragment = new URLSearchParams(location.hash.slice(1));
      assert.deepEqual(
        [...fragment.keys()],
        ['access_token', 'refresh_token', 'token_type', 'expires_in', 'tenant_id'],
      );
      assert.equal(fragment.get('token_type'), 'Bearer');
      assert.equal(fragment.get('tenant_id'), 'acme');
      assert.equal(fragment.get('expires_in'), String(test.config.auth.access_token_ttl_seconds));
      const me = await test.send('GET', '/auth/me', undefined, fragment.get('access_token') ?? '');
      assert.equal(me.status, 200);
      assert.equal((me.body.user as { email_verified: boolean }).email_verified, true);

      // Used: the page and the button now say so.
      assert.equal((await open(token)).status, 400);
      const again = await submit(form);
      assert.equal(again.statusCode, 400);
      assert.match(again.body, /This sign-in link does not work/);
    });

    it('asks an account with a second factor for it: the API and the page answer an mfa_token, and the code completes the sign-in', async () => {
      await test.allowRedirects('mfacorp', ['https://app.mfacorp.test/done']);
      await test.member('mfa@acme.test', ['mfacorp']);
      const password = await test.send('POST', '/auth/login', {
        email: 'mfa@acme.test',
        password: PASSWORD,
        tenant_id: 'mfacorp',
      });
      const session = password.body.access_token as string;
      const started = await test.send('POST', '/auth/mfa/totp', {}, session);
      const secret = started.body.secret as string;
      const confirmed = await test.send(
        'POST',
        '/auth/mfa/totp/confirm',
        { code: totpCode(secret, Date.now(), -1) },
        session,
      );
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));

      // The API: the link is spent, no tokens yet.
      await test.requestLink({ email: 'mfa@acme.test', tenant_id: 'mfacorp' });
      const byApi = await test.send('POST', '/auth/magic-link/verify', {
        token: await test.nextLink('mfa@acme.test'),
      });
      assert.equal(byApi.status, 200, JSON.stringify(byApi.body));
      assert.equal(byApi.body.mfa_required, true);
      assert.equal(byApi.body.access_token, undefined);
      const done = await test.send('POST', '/auth/mfa/verify', {
        mfa_token: byApi.body.mfa_token,
        method: 'totp',
        code: totpCode(secret, Date.now(), 0),
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.deepEqual(decodeJwt(done.body.access_token as string).amr, ['email', 'otp', 'mfa']);

      // The page: the fragment carries the mfa_token for the application to complete.
      await test.requestLink({ email: 'mfa@acme.test', tenant_id: 'mfacorp' });
      const token = await test.nextLink('mfa@acme.test');
      const signedIn = await submit(formOf(await open(token)));
      assert.equal(signedIn.statusCode, 303, signedIn.body);
      const fragment = new URLSearchParams(
        new URL(String(signedIn.headers.location)).hash.slice(1),
      );
      assert.deepEqual(
        [...fragment.keys()],
        ['mfa_required', 'mfa_token', 'methods', 'expires_in'],
      );
      assert.equal(fragment.get('methods'), 'totp recovery_code');
      assert.match(fragment.get('mfa_token') ?? '', /^tsf_/);
      assert.equal((await open(token)).status, 400, 'the link is used');
    });

    it("sends the user to the token's own redirect URI when the request named one", async () => {
      const token = await linkFor('bea@acme.test', 'acme', {
        tenant_id: 'acme',
        redirect_uri: 'https://other.acme.test/',
      });
      const signedIn = await submit(formOf(await open(token)));
      assert.equal(signedIn.statusCode, 303);
      assert.match(
        String(signedIn.headers.location),
        /^https:\/\/other\.acme\.test\/#access_token=/,
      );
    });

    it('says to open a link from the application when it has nowhere to go, and leaves it usable there', async () => {
      const token = await linkFor('cy@initech.test', 'initech');
      const page = await open(token);
      assert.equal(page.status, 200);
      assert.match(page.html, /Open this link from the application/);
      assert.doesNotMatch(page.html, /<form|<button/);
      // Even a forged POST (with a CSRF token from another page) does not use it.
      const other = formOf(await open(await linkFor('dan@acme.test', 'acme')));
      const refused = await submit(other, { ...other.fields, token });
      assert.equal(refused.statusCode, 400);
      assert.match(refused.body, /Open this link from the application/);
      const viaApi = await test.send('POST', '/auth/magic-link/verify', { token });
      assert.equal(viaApi.status, 200);
      assert.equal(viaApi.body.tenant_id, 'initech');
    });

    it('shows an error page for a missing, unknown or malformed token', async () => {
      for (const token of [undefined, '', 'tsm_unknown', 'x'.repeat(600)]) {
        const page = await open(token);
        assert.equal(page.status, 400, String(token));
        assert.match(page.html, /<title>This sign-in link does not work<\/title>/);
        assert.match(page.html, /role="alert"/);
      }
      const repeated = await test.app.inject({
        method: 'GET',
        url: '/auth/magic-link?token=a&token=b',
      });
      assert.equal(repeated.statusCode, 400);
    });

    it('refuses the button without its CSRF token, and the link stays unused', async () => {
      await test.allowRedirects('globex', ['https://app.globex.test/']);
      const token = await linkFor('eve@globex.test', 'globex');
      const form = formOf(await open(token));
      const noToken = await submit(form, { token });
      assert.ok(noToken.statusCode >= 400 && noToken.statusCode < 500, noToken.body);
      const noCookie = await test.app.inject({
        method: 'POST',
        url: '/auth/magic-link',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form.fields).toString(),
      });
      assert.ok(noCookie.statusCode >= 400 && noCookie.statusCode < 500, noCookie.body);
      assert.equal((await submit(form)).statusCode, 303);
    });

    it('escapes what it shows', async () => {
      await test.services.tenancy.tenants.create({
        id: 'tricky',
        name: '<script>alert(1)</script>',
        plan: 'free',
      });
      await test.allowRedirects('tricky', ['https://app.tricky.test/']);
      const page = await open(await linkFor('fay@tricky.test', 'tricky'));
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.html, /<script>/);
      assert.match(page.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    });
  });
}
