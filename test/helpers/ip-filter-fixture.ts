import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
}

export interface Request {
  /** An API key; none: no credentials. */
  readonly key?: string | undefined;
  /** The TCP peer's address (default 127.0.0.1). */
  readonly from?: string;
  readonly headers?: Record<string, string>;
  readonly payload?: object;
}

export interface IpFilterTestApp extends TestApp {
  /** An admin key of `system`: a platform administrator. */
  readonly platform: string;
  /** An API key with `role` in `tenant` (the tenant is created if missing). */
  keyFor(tenant: string, role?: string): Promise<string>;
  /** Any URL, e.g. `/api/v1/stats` or `/health`. */
  send(method: string, url: string, request?: Request): Promise<Reply>;
  /** Adds an entry as `key` from `from`; fails the test unless it is created. */
  add(key: string, entry: object, from?: string): Promise<Record<string, unknown>>;
}

/**
 * Rate limits are raised out of the way: these tests make many requests from few
 * addresses, and limits are tested on their own.
 */
const GENEROUS: DeepPartial<Config> = {
  rate_limits: {
    ip_per_minute: 1_000_000,
    ip_burst: 1_000_000,
    email_per_hour: 1_000_000,
    email_burst: 1_000_000,
  },
};

export async function ipFilterTestApp(
  t: TestContext,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<IpFilterTestApp> {
  const base = await buildTestApp({ ...GENEROUS, ...overrides }, engine, { actAs: false });
  t.after(() => base.close());
  const send: IpFilterTestApp['send'] = async (method, url, request = {}) => {
    const response = await base.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: request.from ?? '127.0.0.1',
      headers: { ...(request.key ? { 'x-api-key': request.key } : {}), ...request.headers },
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      headers: response.headers,
      body: type.includes('json') ? (JSON.parse(response.body) as Record<string, unknown>) : {},
    };
  };
  const keyFor = (tenant: string, role = 'admin') => apiKeyFor(base.services, tenant, role);
  return {
    ...base,
    platform: await keyFor('system'),
    keyFor,
    send,
    async add(key, entry, from) {
      const reply = await send('POST', '/api/v1/ip-filters', {
        key,
        payload: entry,
        ...(from === undefined ? {} : { from }),
      });
      if (reply.status !== 201) throw new Error(`add failed: ${JSON.stringify(reply.body)}`);
      return reply.body;
    },
  };
}
