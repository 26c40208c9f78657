import type { TestContext } from 'node:test';
import { type AppDeps, buildApp, type TesseraApp } from '../../src/app.ts';
import { composeServices, type ServiceOptions, type Services } from '../../src/composition-root.ts';
import { defaultConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { type Database, openDatabase } from '../../src/storage/open-database.ts';
import { type DeepPartial, mergeConfig } from './app.ts';
import { testStorageConfig } from './test-database.ts';

/** One Tessera node: its own pool (or connection), caches and listeners. */
export interface TestNode {
  readonly app: TesseraApp;
  readonly services: Services;
  readonly db: Database;
}

export interface TestNodesOptions {
  /** Build the nodes at the same time (their start-up races), not one after another. */
  readonly together?: boolean;
  readonly services?: ServiceOptions;
  /** Anything else a node's app gets, such as its own logger. */
  readonly deps?: (index: number) => Partial<AppDeps>;
}

/**
 * `count` nodes on one fresh database of `engine`, migrated once first, with the
 * default configuration (logs silenced) plus `overrides`. Closed, and the database
 * dropped, after the test.
 */
export async function startNodes(
  t: TestContext,
  engine: Engine,
  count: number,
  overrides: DeepPartial<Config> = {},
  options: TestNodesOptions = {},
): Promise<TestNode[]> {
  const target = await testStorageConfig(engine);
  const config = mergeConfig(defaultConfig(), [
    { logging: { level: 'silent' } },
    overrides,
    { storage: target.storage },
  ]);
  const nodes: TestNode[] = [];
  t.after(async () => {
    // A node that failed to start leaves a hole.
    for (const node of nodes) if (node) await node.app.close().finally(() => node.db.close());
    await target.cleanup();
  });
  const setup = await openDatabase(config.storage);
  await migrateToLatest(setup, MIGRATIONS).finally(() => setup.close());
  const start = async (index: number) => {
    const db = await openDatabase(config.storage);
    const services = composeServices(db, config, process.env, options.services);
    const app = await buildApp({ config, db, services, ...options.deps?.(index) });
    nodes[index] = { app, services, db };
  };
  const indexes = Array.from({ length: count }, (_, index) => index);
  if (options.together) await Promise.all(indexes.map(start));
  else for (const index of indexes) await start(index);
  return nodes;
}

/** The status of one `/api/v1` request to `node` with an API key (the cross-node suites). */
export async function statusWithKey(
  node: TestNode,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  key: string,
  payload?: object,
): Promise<number> {
  const reply = await node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { 'x-api-key': key },
    ...(payload ? { payload } : {}),
  });
  return reply.statusCode;
}
