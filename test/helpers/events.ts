import type { TestContext } from 'node:test';
import { buildApp, type TesseraApp } from '../../src/app.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { actAs, apiKeyFor } from './auth.ts';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown> & { events?: Record<string, unknown>[] };
  readonly headers: Record<string, unknown>;
}

/** An app on a fresh database, closed after the test. */
export async function eventsApp(
  t: TestContext,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<TestApp> {
  const testApp = await buildTestApp(overrides, engine);
  t.after(() => testApp.close());
  return testApp;
}

/**
 * A second app on the same database acting in another tenant: what two customers
 * sharing one deployment look like until identity assigns tenants per request.
 */
export async function tenantApp(
  t: TestContext,
  base: TestApp,
  tenant: string,
): Promise<TesseraApp> {
  const app = await buildApp({ config: base.config, db: base.db, services: base.services });
  t.after(() => app.close());
  actAs(app, await apiKeyFor(base.services, tenant));
  return app;
}

export async function call(
  app: TesseraApp,
  method: string,
  url: string,
  payload?: unknown,
): Promise<Reply> {
  const response = await app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return {
    status: response.statusCode,
    body: response.body ? (JSON.parse(response.body) as Reply['body']) : {},
    headers: response.headers,
  };
}

export function append(
  app: TesseraApp,
  entityId: string,
  events: unknown[],
  expected?: unknown,
): Promise<Reply> {
  const body = expected === undefined ? { events } : { events, expected_version: expected };
  return call(app, 'POST', `/entities/${encodeURIComponent(entityId)}/events`, body);
}

/** Total events of the app's tenant: what a rejected request must leave unchanged. */
export async function eventCount(app: TesseraApp): Promise<number> {
  return (await call(app, 'GET', '/stats')).body.events as unknown as number;
}

export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
