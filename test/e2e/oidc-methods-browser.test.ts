import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { CDPSession, Page } from 'playwright-core';
import {
  backAtClient,
  CHROMIUM,
  type OidcWorld,
  oidcWorld,
  PASSWORD,
  signInWithPassword,
} from '../helpers/oidc-fixture.ts';
import { saveScreenshots } from '../helpers/oidc-screenshots.ts';
import { enrollTotpFor } from '../helpers/oidc-totp.ts';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.ts';
import { totpCode } from '../helpers/totp.ts';

/**
 * The hosted sign-in's other methods (issue 19) in real Chromium, each through the
 * whole code flow of an openid-client relying party: a passkey (the DevTools virtual
 * authenticator) without a username and as a second factor, a magic link read from a
 * real SMTP sink that comes back into the same authorization request, a forgotten
 * password reset on the emailed page, the TOTP enrollment a tenant's MFA policy asks
 * for, and a password with a TOTP code. Every page is watched for CSP violations.
 */

// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;
const SCOPES = 'openid email profile events:read';

type Json = Record<string, unknown>;

describe('the hosted sign-in methods in Chromium', { skip }, () => {
  let world: OidcWorld;
  let sink: SmtpSink;
  let app: { id: string; client_secret?: string };
  let gammaApp: { id: string; client_secret?: string };
  const problems: string[] = [];

  before(async () => {
    sink = await startSmtpSink();
    world = await oidcWorld('sqlite', {
      // A WebAuthn relying party is a domain, never an IP address.
      host: 'localhost',
      config: (issuer) => ({
        webauthn: { rp_id: 'localhost', origins: [issuer] },
        email: { transport: 'smtp', smtp_url: sink.url },
      }),
    });
    const client = (tenant: string) => ({
      name: `${tenant} console`,
      type: 'confidential',
      grant_types: ['authorization_code'],
      redirect_uris: [world.callback.url],
      scopes: ['openid', 'email', 'profile', 'events:read'],
      first_party: true,
    });
    app = await world.registerClient('acme', client('acme'));
    await world.test.services.tenancy.tenants.create({
      id: 'gamma',
      name: 'Gamma',
      plan: 'unlimited',
    });
    gammaApp = await world.registerClient('gamma', client('gamma'));
  });
  after(async () => {
    await world?.close();
    await sink?.close();
  });

  /** A tab at the hosted sign-in page of a new authorization request, watched for CSP reports. */
  async function begin(client = app) {
    const rp = await world.relyingParty(client);
    const { url, checks } = await rp.begin(SCOPES);
    const tab = await world.tab();
    tab.on('console', (message) => {
      // A page answered 4xx on purpose is no problem; a CSP violation or a script error is.
      const text = message.text();
      if (message.type() === 'error' && !text.startsWith('Failed to load resource')) {
        problems.push(text);
      }
    });
    tab.on('pageerror', (error) => problems.push(error.message));
    await tab.goto(url.toString());
    await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
    return {
      tab,
      /** Back at the client: the code exchanged, the ID token's claims. */
      async complete() {
        const back = await backAtClient(tab, world.callback);
        const tokens = await rp.complete(back, checks);
        await tab.context().close();
        return { tokens, id: decodeJwt(tokens.id_token as string) };
      },
    };
  }

  /** The DevTools virtual authenticator of a tab: CTAP2, resident keys, user verified. */
  async function authenticator(tab: Page): Promise<CDPSession> {
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('WebAuthn.enable', {});
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return cdp;
  }

  /**
   * The page reads on a 375 px phone (nothing wider than the screen), has no inline
   * style attribute, and labels every field a person fills in.
   */
  /** Checked at a phone's width; pictured for the docs when `shot` names it (oidc-screenshots.ts). */
  async function assertReadable(tab: Page, shot?: string): Promise<void> {
    await tab.setViewportSize({ width: 375, height: 740 });
    const found = await tab.evaluate<{ width: number; styled: number; unlabelled: string[] }>(`({
      width: document.documentElement.scrollWidth,
      styled: document.querySelectorAll('[style]').length,
      unlabelled: [...document.querySelectorAll('input:not([type=hidden])')]
        .filter((input) => input.labels.length === 0)
        .map((input) => input.name),
    })`);
    assert.ok(found.width <= 375, `${tab.url()} is ${found.width} px wide`);
    assert.equal(found.styled, 0, 'no style attribute');
    assert.deepEqual(found.unlabelled, [], 'every field has its label');
    if (shot) await saveScreenshots(tab, shot);
  }

  /** What the keyboard focus is on: a field's label, else the element's text. */
  function focused(tab: Page): Promise<string> {
    return tab.evaluate<string>(`(() => {
      const element = document.activeElement;
      const label = element.labels && element.labels[0];
      return (label ? label.textContent : element.textContent).trim();
    })()`);
  }

  /**
   * Test setup in the page (the sign-in page's CSP allows fetches to its own origin):
   * a password login through the API, then a passkey registered with it.
   */
  async function registerPasskey(tab: Page, email: string): Promise<void> {
    // A string: it runs in the page, where the DOM's types are (not in this program's lib).
    const answer = await tab.evaluate<{ status: number; body: Json }>(`(async () => {
      const post = async (path, body, token) => {
        const response = await fetch('/api/v1' + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: await response.json() };
      };
      const login = await post('/auth/login', ${JSON.stringify({ email, password: PASSWORD })});
      const token = login.body.access_token;
      const options = await post('/auth/passkeys/register/options', {}, token);
      const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.body),
      });
      return post('/auth/passkeys/register/verify', { response: credential.toJSON(), name: 'Chromium' }, token);
    })()`);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  }

  it('signs in with a passkey, no username: the script runs under the nonce alone', async () => {
    const userId = await world.user('pia@example.com', { acme: ['admin'] });
    const flow = await begin();
    const csp = (await flow.tab.request.get(flow.tab.url())).headers()['content-security-policy'];
    assert.match(String(csp), /script-src 'nonce-[^']+'/);
    assert.doesNotMatch(String(csp), /unsafe-inline/);
    await authenticator(flow.tab);
    await registerPasskey(flow.tab, 'pia@example.com');
    await flow.tab.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const { id } = await flow.complete();
    assert.equal(id.sub, userId);
    assert.equal(id.tid, 'acme');
    assert.ok((id.amr as string[]).includes('mfa'), JSON.stringify(id.amr));
    assert.equal(id.acr, 'urn:tessera:acr:mfa');
    assert.deepEqual(problems, []);
  });

  it('offers a passkey as the second factor of a password sign-in', async () => {
    const userId = await world.user('quinn@example.com', { acme: ['viewer'] });
    const flow = await begin();
    await authenticator(flow.tab);
    await registerPasskey(flow.tab, 'quinn@example.com');
    await signInWithPassword(flow.tab, 'quinn@example.com');
    await flow.tab.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    // A wrong code first: the page comes back, 400, still offering the passkey.
    await flow.tab.getByLabel('Code').fill('000000');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('alert').waitFor();
    await assertReadable(flow.tab);
    await flow.tab.getByRole('button', { name: 'Use your passkey' }).click();
    const { id } = await flow.complete();
    assert.equal(id.sub, userId);
    const amr = id.amr as string[];
    assert.ok(amr.includes('pwd') && amr.includes('mfa'), JSON.stringify(amr));
    assert.deepEqual(problems, []);
  });

  it('a passkey answer that is not one shows the sign-in page again, 400', async () => {
    const flow = await begin();
    // What the form would post, with a credential that is no assertion.
    const status = await flow.tab.evaluate<{ status: number; text: string }>(`(async () => {
      const form = document.getElementById('passkey-form');
      const body = new URLSearchParams(new FormData(form));
      body.set('credential', '{"id":"x"}');
      const response = await fetch(form.action, { method: 'POST', body });
      return { status: response.status, text: await response.text() };
    })()`);
    assert.equal(status.status, 400);
    assert.match(status.text, /not a WebAuthn assertion/);
    await flow.tab.context().close();
  });

  it('the sign-in page: a logical focus order by keyboard, readable at 375 px', async () => {
    const flow = await begin();
    await assertReadable(flow.tab, 'sign-in-methods');
    const order = [await focused(flow.tab)];
    for (let step = 0; step < 6; step++) {
      await flow.tab.keyboard.press('Tab');
      order.push(await focused(flow.tab));
    }
    assert.deepEqual(order, [
      'Email',
      'Password',
      'Sign in',
      'Sign in with a passkey',
      'Email me a sign-in link',
      'Forgot your password?',
      'Cancel',
    ]);
    // By keyboard alone to the magic link's form, then the forgotten password's.
    await flow.tab.keyboard.press('Shift+Tab');
    await flow.tab.keyboard.press('Shift+Tab');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('heading', { name: 'Email me a sign-in link' }).waitFor();
    assert.equal(await focused(flow.tab), 'Email');
    await assertReadable(flow.tab, 'magic-link-request');
    await flow.tab.getByRole('link', { name: 'Back to sign in' }).click();
    await flow.tab.getByRole('link', { name: 'Forgot your password?' }).click();
    await flow.tab.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await assertReadable(flow.tab, 'forgot-password');
    await flow.tab.context().close();
    assert.deepEqual(problems, []);
  });

  it('emails a magic link that comes back into the same authorization request', async () => {
    const userId = await world.user('max@example.com', { acme: ['viewer'] });
    const flow = await begin();
    await flow.tab.getByRole('link', { name: 'Email me a sign-in link' }).click();
    await flow.tab.getByLabel('Email').fill('max@example.com');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('heading', { name: 'Check your email' }).waitFor();
    await assertReadable(flow.tab, 'check-email');
    const mail = await sink.waitFor('max@example.com', 'magic_link');
    const link = new URL(/https?:\/\/\S+/.exec(mail.text)?.[0] ?? '');
    const base = new URL(flow.tab.url()).pathname.replace(/\/magic-link\/request$/, '');
    assert.equal(link.pathname, `${base}/magic-link`, 'the link opens this request');
    // A GET (a mail scanner's prefetch) uses nothing: the link still works after one.
    assert.equal((await fetch(link)).status, 400, 'without the interaction cookie: no page');
    await flow.tab.goto(link.toString());
    await assertReadable(flow.tab, 'magic-link');
    await flow.tab.getByRole('button', { name: 'Sign in' }).click();
    const { id } = await flow.complete();
    assert.equal(id.sub, userId);
    assert.deepEqual(id.amr, ['email']);
    assert.deepEqual(problems, []);
  });

  it('a magic link of an account with TOTP asks for the code on the same request', async () => {
    const userId = await world.user('uma@example.com', { acme: ['viewer'] });
    const secret = await enrollTotpFor(world, 'uma@example.com');
    const flow = await begin();
    await flow.tab.getByRole('link', { name: 'Email me a sign-in link' }).click();
    await flow.tab.getByLabel('Email').fill('uma@example.com');
    await flow.tab.keyboard.press('Enter');
    const mail = await sink.waitFor('uma@example.com', 'magic_link');
    await flow.tab.goto(/https?:\/\/\S+/.exec(mail.text)?.[0] ?? '');
    await flow.tab.getByRole('button', { name: 'Sign in' }).click();
    await flow.tab.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await flow.tab.getByLabel('Code').fill(totpCode(secret, Date.now(), 1));
    await flow.tab.keyboard.press('Enter');
    const { id } = await flow.complete();
    assert.equal(id.sub, userId);
    const amr = id.amr as string[];
    assert.ok(
      ['email', 'otp', 'mfa'].every((m) => amr.includes(m)),
      JSON.stringify(amr),
    );
  });

  it('answers an unknown address as a known one, and sends nothing', async () => {
    const flow = await begin();
    await flow.tab.getByRole('link', { name: 'Email me a sign-in link' }).click();
    await flow.tab.getByLabel('Email').fill('nobody@example.com');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('heading', { name: 'Check your email' }).waitFor();
    assert.deepEqual(sink.to('nobody@example.com'), []);
    await flow.tab.context().close();
  });

  it('resets a forgotten password from the emailed page, then signs in with it', async () => {
    const userId = await world.user('rae@example.com', { acme: ['viewer'] });
    const flow = await begin();
    const signInPage = flow.tab.url();
    await flow.tab.getByRole('link', { name: 'Forgot your password?' }).click();
    await flow.tab.getByLabel('Email').fill('rae@example.com');
    await flow.tab.getByRole('button', { name: 'Send the link' }).click();
    await flow.tab.getByRole('heading', { name: 'Check your email' }).waitFor();
    const mail = await sink.waitFor('rae@example.com', 'reset_password');
    await flow.tab.goto(/https?:\/\/\S+/.exec(mail.text)?.[0] ?? '');
    await flow.tab.getByLabel('New password').fill('a brand new passphrase');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('heading', { name: 'Your password was changed' }).waitFor();
    await flow.tab.goto(signInPage);
    await flow.tab.getByLabel('Email').fill('rae@example.com');
    await flow.tab.getByLabel('Password').fill('a brand new passphrase');
    await flow.tab.getByRole('button', { name: 'Sign in', exact: true }).click();
    const { id } = await flow.complete();
    assert.equal(id.sub, userId);
  });

  it('enrolls TOTP when the tenant requires a second factor; the tokens then pass the guard', async () => {
    await world.test.db.kysely
      .updateTable('tenants')
      .set({ mfa_required: 'all' })
      .where('id', '=', 'gamma')
      .execute();
    const userId = await world.user('sam@example.com', { gamma: ['viewer'] });
    // What the hosted page saves the user from: a session without a factor is refused.
    const refused = await world.test.app.inject({
      method: 'GET',
      url: '/api/v1/entities/order-1/events',
      headers: { authorization: `Bearer ${await apiLogin('sam@example.com')}` },
    });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().code, 'mfa_enrollment_required');
    const flow = await begin(gammaApp);
    await signInWithPassword(flow.tab, 'sam@example.com');
    await flow.tab.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await assertReadable(flow.tab, 'enroll');
    const qr = await flow.tab.getByRole('img', { name: /QR code/ }).getAttribute('src');
    assert.match(String(qr), /^data:image\/png;base64,/);
    const secret = String(await flow.tab.locator('#totp-secret').textContent());
    await flow.tab.getByLabel('Code from the app').fill('000000');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('alert').waitFor();
    await flow.tab.getByLabel('Code from the app').fill(totpCode(secret));
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal(await flow.tab.locator('ul.codes li').count(), 10);
    await assertReadable(flow.tab, 'recovery-codes');
    await flow.tab.getByRole('link', { name: 'Continue' }).click();
    const { id, tokens } = await flow.complete();
    assert.equal(id.sub, userId);
    const amr = id.amr as string[];
    assert.ok(amr.includes('otp') && amr.includes('mfa'), JSON.stringify(amr));
    const events = await world.test.app.inject({
      method: 'GET',
      url: '/api/v1/entities/order-1/events',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(events.statusCode, 200, events.body);
    assert.deepEqual(problems, []);
  });

  it('asks a TOTP user for the code after the password: amr otp and mfa, acr mfa', async () => {
    await world.user('tia@example.com', { acme: ['viewer'] });
    const secret = await enrollTotpFor(world, 'tia@example.com');
    const flow = await begin();
    await signInWithPassword(flow.tab, 'tia@example.com');
    await flow.tab.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await flow.tab.getByLabel('Code').fill('000000');
    await flow.tab.keyboard.press('Enter');
    await flow.tab.getByRole('alert').waitFor();
    await flow.tab.getByText('No access to your app?').waitFor();
    assert.equal(await flow.tab.getByRole('button', { name: /passkey/ }).count(), 0);
    // The next step: the current one was spent confirming the enrollment (no replay).
    await flow.tab.getByLabel('Code').fill(totpCode(secret, Date.now(), 1));
    await flow.tab.keyboard.press('Enter');
    const { id } = await flow.complete();
    const amr = id.amr as string[];
    assert.ok(amr.includes('otp') && amr.includes('mfa'), JSON.stringify(amr));
    assert.equal(id.acr, 'urn:tessera:acr:mfa');
  });

  async function apiLogin(email: string): Promise<string> {
    const response = await fetch(`${world.issuer}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    return String(((await response.json()) as Json).access_token);
  }
});
