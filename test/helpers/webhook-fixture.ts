import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';
import { injectJson } from './json-inject.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

/**
 * Webhook settings for tests: local receivers over http, quick polls and retries, and
 * deliveries never held back for a busy machine (the suite runs several files at once
 * on few cores; cpu-pacer.test.ts tests the holding back).
 */
export const TEST_WEBHOOKS: DeepPartial<Config['webhooks']> = {
  allow_insecure_urls: true,
  allow_private_networks: true,
  busy_cpu_share: 1,
  poll_interval_ms: 50,
  retry_schedule_seconds: [0, 0, 0],
  timeout_ms: 2000,
};

export interface WebhookWorld {
  readonly test: TestApp;
  adminKey(tenant: string): Promise<string>;
  /** A JSON request to /api/v1 with a tenant's admin key (or `key`). */
  api(
    method: string,
    path: string,
    options?: { tenant?: string; key?: string; body?: unknown },
  ): Promise<{ status: number; json: Json }>;
  /** Appends events of `types` to one entity of the tenant, in one request. */
  append(tenant: string, entity: string, types: readonly string[]): Promise<number[]>;
  /** Adds an endpoint for `url` receiving `filters`; answers its id and secret. */
  endpoint(
    tenant: string,
    url: string,
    filters: Record<string, unknown>,
  ): Promise<{ id: string; secret: string }>;
}

/** Tessera (not listening: `inject`) delivering webhooks to receivers on 127.0.0.1. */
export async function webhookWorld(
  t: TestContext,
  engine: Engine,
  config: DeepPartial<Config> = {},
): Promise<WebhookWorld> {
  const test = await buildTestApp(
    {
      ...config,
      webhooks: { ...TEST_WEBHOOKS, ...config.webhooks },
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
    }
    return key;
  };
  const api: WebhookWorld['api'] = async (method, path, options = {}) => {
    const key = options.key ?? (await adminKey(options.tenant ?? 'acme'));
    const { status, json } = await injectJson(test.app, {
      method,
      url: `/api/v1${path}`,
      key,
      body: options.body,
    });
    return { status, json };
  };
  return {
    test,
    adminKey,
    api,
    async append(tenant, entity, types) {
      const reply = await api('POST', `/entities/${entity}/events`, {
        tenant,
        body: { events: types.map((event_type, n) => ({ event_type, payload: { n } })) },
      });
      if (reply.status !== 201)
        throw new Error(`append: ${reply.status} ${JSON.stringify(reply.json)}`);
      return reply.json.events.map((event: { position: number }) => event.position);
    },
    async endpoint(tenant, url, filters) {
      const reply = await api('POST', '/webhooks', { tenant, body: { url, ...filters } });
      if (reply.status !== 201)
        throw new Error(`endpoint: ${reply.status} ${JSON.stringify(reply.json)}`);
      return { id: reply.json.id, secret: reply.json.secret };
    },
  };
}
