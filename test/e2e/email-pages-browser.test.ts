import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { apiKeyFor } from '../helpers/auth.ts';
import { freePort } from '../helpers/cli.ts';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.ts';

/**
 * The pages emailed links open, in real Chromium: a person follows each link from the
 * received email, uses the page with the keyboard, and the page does what it says,
 * under its CSP (no violation, no console error). With TESSERA_DOCS_SCREENSHOTS set to
 * a directory, each page is saved there as a PNG (docs/images holds the docs' copies).
 */

const CHROMIUM = '/usr/bin/chromium';
// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;
const PASSWORD = 'correct horse battery';
const SHOTS = process.env.TESSERA_DOCS_SCREENSHOTS;

/** The application a magic link returns to: a page that shows what its URL carries. */
async function serveApp(): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>app</title><p>signed in</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://localhost:${(server.address() as AddressInfo).port}/signed-in` };
}

/** The first link in the email's text. */
function linkIn(text: string): string {
  const link = /https?:\/\/\S+/.exec(text)?.[0];
  assert.ok(link, `a link in: ${text}`);
  return link;
}

describe('the pages emailed links open (Chromium)', { skip }, () => {
  let browser: Browser;
  let test: TestApp;
  let sink: SmtpSink;
  let app: { server: Server; url: string };
  let adminKey: string;
  const problems: string[] = [];

  before(async () => {
    sink = await startSmtpSink();
    app = await serveApp();
    const port = await freePort();
    test = await buildTestApp(
      {
        server: { port, public_url: `http://127.0.0.1:${port}` },
        email: { transport: 'smtp', smtp_url: sink.url },
        rate_limits: { enabled: false },
      },
      'sqlite',
      { actAs: false },
    );
    await test.app.listen({ host: '127.0.0.1', port });
    adminKey = await apiKeyFor(test.services, 'acme');
    const ada = await test.services.identity.users.createUser({
      email: 'ada@example.com',
      name: 'Ada',
      password_hash: await hashPassword(PASSWORD),
    });
    await test.services.tenancy.memberships.grant('acme', ada.id, ['admin']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
  });
  after(async () => {
    await browser?.close();
    await test?.close();
    await sink?.close();
    app?.server.close();
  });

  async function api(method: 'POST' | 'PATCH', path: string, body: object, key?: string) {
    const response = await fetch(`http://127.0.0.1:${test.config.server.port}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
    };
  }

  /** A fresh tab that records CSP violations and console errors. */
  async function open(link: string): Promise<Page> {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    tab.on('pageerror', (error) => problems.push(error.message));
    await tab.goto(link);
    return tab;
  }

  async function shot(tab: Page, name: string): Promise<void> {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await tab.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  it('a password reset link sets a new password', async () => {
    assert.equal(
      (await api('POST', '/auth/password/forgot', { email: 'ada@example.com' })).status,
      202,
    );
    const mail = await sink.waitFor('ada@example.com', 'reset_password');
    const tab = await open(linkIn(mail.text));
    assert.equal(await tab.locator('h1').textContent(), 'Choose a new password');
    await shot(tab, 'password-reset-page');
    await tab.getByLabel('New password').fill('a brand new passphrase');
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: 'Your password was changed' }).waitFor();
    await tab.context().close();
    const login = await api('POST', '/auth/login', {
      email: 'ada@example.com',
      password: 'a brand new passphrase',
    });
    assert.equal(login.status, 200);
  });

  it('a verification link confirms the address', async () => {
    await test.services.identity.users.createUser({
      email: 'bob@example.com',
      password_hash: await hashPassword(PASSWORD),
    });
    const bob = await test.services.identity.users.findByEmail('bob@example.com');
    await test.services.tenancy.memberships.grant('acme', bob?.id as string, ['viewer']);
    const login = await api('POST', '/auth/login', {
      email: 'bob@example.com',
      password: PASSWORD,
    });
    const asked = await fetch(
      `http://127.0.0.1:${test.config.server.port}/api/v1/auth/email/verify/request`,
      { method: 'POST', headers: { authorization: `Bearer ${login.body.access_token}` } },
    );
    assert.equal(asked.status, 202);
    const mail = await sink.waitFor('bob@example.com', 'verify_email');
    const tab = await open(linkIn(mail.text));
    await shot(tab, 'email-verification-page');
    await tab.getByRole('button', { name: 'Confirm my address' }).press('Enter');
    await tab.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
    await tab.context().close();
    assert.equal(
      (await test.services.identity.users.findByEmail('bob@example.com'))?.email_verified,
      true,
    );
  });

  it('a magic link signs in and hands the tokens to the application in the fragment', async () => {
    const allowed = await api(
      'PATCH',
      '/tenants/acme/sign-in-settings',
      { redirect_uris: [app.url] },
      adminKey,
    );
    assert.equal(allowed.status, 200);
    const asked = await api('POST', '/auth/magic-link', {
      email: 'ada@example.com',
      tenant_id: 'acme',
    });
    assert.equal(asked.status, 202);
    const mail = await sink.waitFor('ada@example.com', 'magic_link');
    const tab = await open(linkIn(mail.text));
    await shot(tab, 'magic-link-page');
    await tab.getByRole('button', { name: 'Sign in' }).press('Enter');
    await tab.waitForURL(`${app.url}#*`);
    const fragment = new URLSearchParams(new URL(tab.url()).hash.slice(1));
    assert.equal(fragment.get('tenant_id'), 'acme');
    assert.equal(new URL(tab.url()).search, '', 'no token in the query');
    await tab.context().close();
    const me = await fetch(`http://127.0.0.1:${test.config.server.port}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${fragment.get('access_token')}` },
    });
    assert.equal(me.status, 200);
  });

  it('an invitation link creates the account and joins the tenant', async () => {
    const invited = await api(
      'POST',
      '/invitations',
      { email: 'carol@example.com', role: 'viewer' },
      adminKey,
    );
    assert.equal(invited.status, 202);
    const mail = await sink.waitFor('carol@example.com', 'invitation');
    const tab = await open(linkIn(mail.text));
    await shot(tab, 'invitation-page');
    await tab.getByLabel('Your name').fill('Carol');
    await tab.getByLabel('New password').fill('carol passphrase');
    await tab.getByRole('button', { name: 'Accept and create my account' }).press('Enter');
    await tab.getByRole('heading', { name: /Welcome to/ }).waitFor();
    await tab.context().close();
    const login = await api('POST', '/auth/login', {
      email: 'carol@example.com',
      password: 'carol passphrase',
      tenant_id: 'acme',
    });
    assert.equal(login.status, 200);
  });

  it('no page broke its CSP or logged an error', () => {
    assert.deepEqual(problems, []);
  });
});
