import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/cli.ts';
import { claimsOf } from '../helpers/passkey-fixture.ts';
import { type PasskeyPageServer, servePasskeyPage } from '../helpers/passkey-page.ts';

/**
 * Passkeys in real Chromium (issue 18, item 8): the DevTools WebAuthn virtual
 * authenticator (CTAP2, internal, resident keys, user verification) answers
 * navigator.credentials on a page that calls the Tessera API from its own origin.
 * Registration after a password login, the usernameless sign-in, a passkey as the
 * second step of a password login, and refused ceremonies: another origin, a
 * replayed challenge.
 */

const CHROMIUM = '/usr/bin/chromium';
// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;
const PASSWORD = 'correct horse battery';

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly body: Json;
}

describe('passkeys in Chromium with a virtual authenticator', { skip }, () => {
  let browser: Browser;
  let test: TestApp;
  let page: PasskeyPageServer;
  let elsewhere: PasskeyPageServer;
  let tab: Page;
  let cdp: CDPSession;
  let adaId: string;
  let authenticatorId: string;

  before(async () => {
    const apiPort = await freePort();
    page = await servePasskeyPage(apiPort);
    // Another origin serving the same page: not in webauthn.origins.
    elsewhere = await servePasskeyPage(apiPort);
    test = await buildTestApp(
      {
        server: { port: apiPort },
        webauthn: { rp_id: 'localhost', origins: [`http://localhost:${page.port}`] },
        rate_limits: { enabled: false },
      },
      'sqlite',
      { actAs: false },
    );
    await test.app.listen({ host: '127.0.0.1', port: apiPort });
    await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'unlimited' });
    await test.services.tenancy.tenants.create({ id: 'beta', name: 'Beta', plan: 'unlimited' });
    const ada = await test.services.identity.users.createUser({
      email: 'ada@example.com',
      name: 'Ada',
      password_hash: await hashPassword(PASSWORD),
    });
    adaId = ada.id;
    await test.services.tenancy.memberships.grant('acme', ada.id, ['admin']);
    const bob = await test.services.identity.users.createUser({
      email: 'bob@example.com',
      password_hash: await hashPassword(PASSWORD),
    });
    await test.services.tenancy.memberships.grant('beta', bob.id, ['admin']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1',
      ],
    });
    tab = await (await browser.newContext()).newPage();
    cdp = await tab.context().newCDPSession(tab);
    await cdp.send('WebAuthn.enable', {});
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    await open(page);
  });
  after(async () => {
    await browser?.close();
    await test?.close();
    await page?.close();
    await elsewhere?.close();
  });

  async function open(server: PasskeyPageServer): Promise<void> {
    await tab.goto(`http://localhost:${server.port}/`);
    await tab.locator('body[data-ready="yes"]').waitFor();
  }

  /** Calls `window.passkeys[name](...args)` in the page. */
  function inPage<T>(name: string, ...args: unknown[]): Promise<T> {
    return tab.evaluate(
      ([fn, rest]) =>
        (
          globalThis as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>
        ).passkeys?.[fn as string]?.(...(rest as unknown[])),
      [name, args] as const,
    ) as Promise<T>;
  }

  it('registers a passkey after a password login', async () => {
    const login = await inPage<Answer>('passwordLogin', 'ada@example.com', PASSWORD);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const created = await inPage<Answer>('register', login.body.access_token, 'Chromium');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'Chromium');
    assert.equal(created.body.device_type, 'singleDevice');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', {
      authenticatorId,
    });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]?.isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0]?.rpId, 'localhost');
  });

  it('signs in usernameless, as Ada in acme, with mfa', async () => {
    const { answer, response } = await inPage<{ answer: Answer; response: Json }>('signIn');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(response.response && typeof response.response, 'object');
    assert.equal(answer.body.tenant_id, 'acme');
    const claims = claimsOf(answer.body.access_token);
    assert.equal(claims.sub, adaId);
    assert.ok((claims.amr as string[]).includes('mfa'), JSON.stringify(claims.amr));
    const me = await inPage<Answer>('api', '/auth/logout', {}, answer.body.access_token);
    assert.equal(me.status, 204, 'the session is a real one');
  });

  it('refuses a replayed challenge: the same assertion posted twice', async () => {
    const { answer, response } = await inPage<{ answer: Answer; response: Json }>('signIn');
    assert.equal(answer.status, 200);
    const replayed = await inPage<Answer>('api', '/auth/passkeys/login/verify', { response });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.code, 'webauthn_challenge_invalid');
  });

  it('a password login asks for the passkey as a second factor, and it completes it', async () => {
    const login = await inPage<Answer>('passwordLogin', 'ada@example.com', PASSWORD);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.mfa_required, true);
    assert.ok((login.body.methods as string[]).includes('webauthn'));
    assert.equal(login.body.access_token, undefined);
    const verified = await inPage<Answer>('secondFactor', login.body.mfa_token);
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    const claims = claimsOf(verified.body.access_token);
    assert.equal(claims.sub, adaId);
    assert.equal(claims.tid, 'acme');
    assert.ok((claims.amr as string[]).includes('pwd'));
    assert.ok((claims.amr as string[]).includes('mfa'), JSON.stringify(claims.amr));
  });

  it('refuses a ceremony from an origin not in webauthn.origins', async () => {
    await open(elsewhere);
    const { answer } = await inPage<{ answer: Answer }>('signIn');
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.code, 'webauthn_verification_failed');
    await open(page);
  });
});
