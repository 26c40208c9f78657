import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { relyingParty } from '../../docs/examples/relying-party.ts';
import type { Config } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';
import { freePort } from './cli.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery';

/** A page at the relying party's redirect URI: records where the browser came back to. */
export interface Callback {
  readonly url: string;
  /** The last URL the browser arrived at here (with its query). */
  last(): URL | undefined;
  close(): Promise<void>;
}

export async function callbackServer(): Promise<Callback> {
  let last: URL | undefined;
  const server: Server = createServer((request, response) => {
    last = new URL(request.url ?? '/', 'http://127.0.0.1');
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>back at the application</title><p id="back">back</p>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/cb`,
    last: () => (last ? new URL(`${base}${last.pathname}${last.search}`) : undefined),
    close: () => new Promise((done) => server.close(() => done())),
  };
}

export interface OidcWorld {
  readonly test: TestApp;
  readonly issuer: string;
  readonly callback: Callback;
  readonly browser: Browser;
  /** An admin API key of a tenant. */
  adminKey(tenant: string): Promise<string>;
  /** Registers a client in `tenant` through the API; its id and (confidential) secret. */
  registerClient(
    tenant: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; client_secret?: string }>;
  /** A user with PASSWORD and these memberships. */
  user(email: string, memberships: Record<string, string[]>): Promise<string>;
  relyingParty(client: { id: string; client_secret?: string }): ReturnType<typeof relyingParty>;
  /** A new browser tab (its own cookies). */
  tab(): Promise<Page>;
  close(): Promise<void>;
}

export interface OidcWorldOptions {
  /**
   * The issuer's host name (default 127.0.0.1). `localhost`: a name a WebAuthn relying
   * party may be (never an IP address); Chromium maps it to 127.0.0.1.
   */
  readonly host?: string;
  /** More configuration, given the issuer (webauthn origins, an email transport). */
  readonly config?: (issuer: string) => DeepPartial<Config>;
}

/** Tessera really listening on 127.0.0.1 as the issuer, tenants acme and beta, Chromium. */
export async function oidcWorld(
  engine: Engine,
  options: OidcWorldOptions = {},
): Promise<OidcWorld> {
  const port = await freePort();
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const test = await buildTestApp(
    {
      // The public URL is the issuer: emailed links lead back to it.
      server: { port, public_url: issuer },
      // A rotated key signs at once, so a test can see the provider pick it up.
      auth: { issuer, key_publish_ahead_seconds: 0 },
      rate_limits: { enabled: false },
      ...options.config?.(issuer),
    },
    engine,
    { actAs: false },
  );
  await test.app.listen({ host: '127.0.0.1', port });
  await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'unlimited' });
  await test.services.tenancy.tenants.create({ id: 'beta', name: 'Beta', plan: 'unlimited' });
  const callback = await callbackServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  const keys = new Map<string, string>();
  const adminKey = async (tenant: string) => {
    let key = keys.get(tenant);
    if (!key) {
      key = await apiKeyFor(test.services, tenant, 'admin');
      keys.set(tenant, key);
    }
    return key;
  };
  return {
    test,
    issuer,
    callback,
    browser,
    adminKey,
    async registerClient(tenant, body) {
      const response = await fetch(`${issuer}/api/v1/oauth/clients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': await adminKey(tenant) },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as { id: string; client_secret?: string };
      if (response.status !== 201) throw new Error(`client: ${JSON.stringify(answer)}`);
      return answer;
    },
    async user(email, memberships) {
      const user = await test.services.identity.users.createUser({
        email,
        name: email.split('@')[0] ?? email,
        password_hash: await hashPassword(PASSWORD),
      });
      for (const [tenant, roles] of Object.entries(memberships)) {
        await test.services.tenancy.memberships.grant(tenant, user.id, roles);
      }
      return user.id;
    },
    relyingParty: (client) =>
      relyingParty({
        issuer,
        clientId: client.id,
        ...(client.client_secret ? { clientSecret: client.client_secret } : {}),
        redirectUri: callback.url,
        allowHttp: true,
      }),
    tab: async () => (await browser.newContext()).newPage(),
    async close() {
      await browser.close();
      await callback.close();
      await test.close();
    },
  };
}

/** Fills the hosted sign-in page and submits it. */
export async function signInWithPassword(tab: Page, email: string): Promise<void> {
  await tab.getByLabel('Email').fill(email);
  await tab.getByLabel('Password').fill(PASSWORD);
  await tab.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Waits until the browser is back at the relying party; the URL it came back to. */
export async function backAtClient(tab: Page, callback: Callback): Promise<URL> {
  try {
    await tab.waitForURL((url) => url.toString().startsWith(callback.url), { timeout: 15_000 });
  } catch (error) {
    // Where the browser stopped instead says why (an error page, a form shown again).
    const text = await tab
      .locator('body')
      .textContent()
      .catch(() => '');
    const cookies = JSON.stringify(await tab.context().cookies());
    throw new Error(`not back at the client; at ${tab.url()}: ${text} ${cookies}`, {
      cause: error,
    });
  }
  return new URL(tab.url());
}

export { freePort };
