import type { TestContext } from 'node:test';
import { API_PREFIX, buildApp, type TesseraApp } from '../../src/app.ts';
import { composeServices, type Services } from '../../src/composition-root.ts';
import { defaultConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { AppendSuccess } from '../../src/events/model.ts';
import { type Events, openEvents } from '../../src/events/open-events.ts';
import type { SubscriptionHubStats } from '../../src/events/subscriptions/subscription-hub.ts';
import type { AppLogger } from '../../src/http/logger.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { actAs, apiKeyFor } from './auth.ts';
import { openTestDatabase } from './test-database.ts';

/** Test-only: a listening app with the subscription routes, on a fresh real database. */
export interface SubscriptionTestServer {
  readonly app: TesseraApp;
  /** `http://127.0.0.1:<port>/api/v1` */
  readonly baseUrl: string;
  readonly events: Events;
  readonly config: Config;
  readonly tenantId: string;
  readonly services: Services;
  /** Appends one event per type to `entityId` through the service (as the HTTP routes do). */
  append(entityId: string, ...types: string[]): Promise<AppendSuccess>;
  stats(): SubscriptionHubStats;
  /** Closes the app (open subscriptions included), the events domain and the database. */
  close(): Promise<void>;
}

/**
 * The app is built with our own `Events`, so tests append through the very service
 * whose commits wake the subscribers.
 */
export interface SubscriptionServerOptions {
  /** Every request without credentials acts with an admin key of the tenant (default true). */
  readonly impersonate?: boolean;
  /** `[server]` settings, e.g. cors_origins. */
  readonly server?: Partial<Config['server']>;
  /** The app's logger (default: silent). */
  readonly logger?: AppLogger;
}

export async function startSubscriptionServer(
  engine: Engine,
  subscriptions: Partial<Config['subscriptions']> = {},
  options: SubscriptionServerOptions = {},
): Promise<SubscriptionTestServer> {
  const { db, storage, cleanup } = await openTestDatabase(engine);
  const base = defaultConfig();
  const config: Config = {
    ...base,
    storage,
    server: { ...base.server, ...options.server },
    logging: { ...base.logging, level: 'silent' },
    subscriptions: { ...base.subscriptions, ...subscriptions },
  };
  await migrateToLatest(db, MIGRATIONS);
  const events = await openEvents(db, config);
  const services = composeServices(db, config);
  const app = await buildApp({ config, db, events, services, logger: options.logger });
  const tenantId = 'default';
  const key = await apiKeyFor(services, tenantId);
  if (options.impersonate !== false) actAs(app, key);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  return {
    app,
    baseUrl: `${address}${API_PREFIX}`,
    events,
    config,
    tenantId,
    services,
    append: (entityId, ...types) =>
      events.service.appendToEntity(
        tenantId,
        entityId,
        types.map((event_type) => ({ event_type, payload: { entityId } })),
        'any',
        (index) => `/events/${index}`,
      ),
    stats: () => events.subscriptions.stats(),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await app.close();
        await events.close();
      } finally {
        await cleanup();
      }
    },
  };
}

/** A subscription server for one test, closed after it. */
export async function serveSubscriptions(
  t: TestContext,
  engine: Engine,
  settings: Partial<Config['subscriptions']> = {},
  options: SubscriptionServerOptions = {},
): Promise<SubscriptionTestServer> {
  const server = await startSubscriptionServer(engine, settings, options);
  t.after(() => server.close());
  return server;
}

/** A tenant-owned API key of `role` in the server's tenant (no creator caps it). */
export async function tenantKey(
  server: SubscriptionTestServer,
  role: string,
): Promise<{ secret: string; id: string }> {
  const key = await server.services.identity.apiKeys.create({
    tenant_id: server.tenantId,
    name: role,
    role,
    created_by: null,
    expires_ms: null,
  });
  return { secret: key.secret, id: key.record.id };
}
