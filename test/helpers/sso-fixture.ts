import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';
import { injectJson } from './json-inject.ts';

/** Tessera's base URL in tests that never listen: only the IdP's redirect checks it. */
export const BASE = 'http://tessera.test';
/** The application an SP-initiated sign-in returns to (a tenant redirect URI). */
export const APP_URL = 'http://127.0.0.1:5999/app';

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

export interface SsoWorld {
  readonly test: TestApp;
  /** An admin API key per tenant (tenants made on first ask). */
  adminKey(tenant: string): Promise<string>;
  /** A JSON request with a tenant's admin key (or `key`). */
  api(
    method: string,
    url: string,
    options?: { tenant?: string; key?: string; body?: unknown },
  ): Promise<{ status: number; json: Json; headers: Record<string, unknown> }>;
  /** A browser-like request: follows nothing, carries and keeps cookies. */
  browse(
    url: string,
    options?: { method?: string; form?: Record<string, string>; jar?: Map<string, string> },
  ): Promise<{ status: number; location: string; body: string }>;
}

/**
 * Tessera (not listening: `inject`) with SSO allowed over http, tenants made on first
 * use with `APP_URL` as their redirect URI.
 */
export async function ssoWorld(
  t: TestContext,
  engine: Engine,
  config: DeepPartial<Config> = {},
): Promise<SsoWorld> {
  const test = await buildTestApp(
    {
      ...config,
      auth: { issuer: BASE, ...config.auth },
      server: { public_url: BASE, ...config.server },
      sso: { allow_insecure_urls: true, ...config.sso },
      rate_limits: { enabled: false, ...config.rate_limits },
    },
    engine,
    { actAs: false },
  );
  t.after(() => test.close());
  const keys = new Map<string, string>();
  const adminKey = async (tenant: string) => {
    let key = keys.get(tenant);
    if (!key) {
      key = await apiKeyFor(test.services, tenant, 'admin');
      keys.set(tenant, key);
      const response = await test.app.inject({
        method: 'PATCH',
        url: `/api/v1/tenants/${tenant}/sign-in-settings`,
        headers: { 'x-api-key': key },
        payload: { redirect_uris: [APP_URL] },
      });
      if (response.statusCode !== 200) throw new Error(`settings: ${response.body}`);
    }
    return key;
  };
  const defaultJar = new Map<string, string>();
  return {
    test,
    adminKey,
    async api(method, url, options = {}) {
      const key = options.key ?? (await adminKey(options.tenant ?? 'acme'));
      return injectJson(test.app, { method, url, key, body: options.body });
    },
    async browse(url, options = {}) {
      const jar = options.jar ?? defaultJar;
      const target = new URL(url, BASE);
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await test.app.inject({
        method: (options.method ?? (options.form ? 'POST' : 'GET')) as 'GET',
        url: `${target.pathname}${target.search}`,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(options.form ? { payload: new URLSearchParams(options.form).toString() } : {}),
      });
      for (const set of response.cookies) jar.set(set.name, set.value);
      return {
        status: response.statusCode,
        location: String(response.headers.location ?? ''),
        body: response.body,
      };
    },
  };
}

/** Reads a URL's fragment parameters (the tokens an SSO sign-in hands the application). */
export function fragmentOf(location: string): URLSearchParams {
  return new URLSearchParams(new URL(location).hash.slice(1));
}
