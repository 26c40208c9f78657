import type { TestContext } from 'node:test';
import { buildApp, type TesseraApp } from '../../src/app.ts';
import { composeServices, type Services } from '../../src/composition-root.ts';
import { defaultConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { type Database, openDatabase } from '../../src/storage/open-database.ts';
import type { WebhookDispatcher } from '../../src/webhooks/delivery/dispatcher.ts';
import { type DeepPartial, mergeConfig } from './app.ts';
import { type StorageConfig, testStorageConfig } from './test-database.ts';

/** A Tessera node whose webhook dispatcher the test can look into. */
export interface WebhookNode {
  readonly app: TesseraApp;
  readonly db: Database;
  readonly services: Services;
  /** This node's dispatcher (what it holds: `heldEndpoints()`). */
  readonly dispatcher: WebhookDispatcher;
  /** Ids of the endpoints this node's dispatcher holds now. */
  held(): string[];
}

/** Nodes on one fresh database of `engine`, and what must stop before it is dropped. */
export interface WebhookCluster {
  readonly storage: StorageConfig;
  /** The configuration every node gets: defaults, logs silenced, the overrides, this storage. */
  readonly config: Config;
  /**
   * Starts a node (its own pool), closed after the test, before the database is
   * dropped (closing it earlier is fine: a second close does nothing). `ready`: a
   * database handle and services the test composed first (to create tenants and keys
   * before the node's dispatcher starts).
   */
  start(ready?: { db: Database; services: Services }): Promise<WebhookNode>;
  /** Runs `stop` after the test, before the nodes close and the database is dropped. */
  defer(stop: () => Promise<unknown>): void;
}

/**
 * A fresh database of `engine`, migrated once, for nodes like `startNodes` gives but
 * whose dispatchers the test can look into. Everything is stopped and the database
 * dropped after the test, in that order.
 */
export async function webhookCluster(
  t: TestContext,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<WebhookCluster> {
  const target = await testStorageConfig(engine);
  const nodes: { app?: TesseraApp; db: Database }[] = [];
  const deferred: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    try {
      for (const stop of deferred) await stop();
      for (const node of nodes) await node.app?.close().finally(() => node.db.close());
    } finally {
      await target.cleanup();
    }
  });
  const setup = await openDatabase(target.storage);
  await migrateToLatest(setup, MIGRATIONS).finally(() => setup.close());
  const config = mergeConfig(defaultConfig(), [
    { logging: { level: 'silent' } },
    overrides,
    { storage: target.storage },
  ]);
  return {
    storage: target.storage,
    config,
    defer: (stop) => deferred.push(stop),
    async start(ready) {
      const db = ready?.db ?? (await openDatabase(config.storage));
      const entry: { app?: TesseraApp; db: Database } = { db };
      nodes.push(entry);
      const composed = ready?.services ?? composeServices(db, config, process.env);
      let dispatcher: WebhookDispatcher | undefined;
      const services: Services = {
        ...composed,
        webhooks: {
          ...composed.webhooks,
          open(runtime) {
            const opened = composed.webhooks.open(runtime);
            dispatcher = opened.dispatcher;
            return opened;
          },
        },
      };
      const app = await buildApp({ config, db, services });
      entry.app = app;
      if (!dispatcher) throw new Error('the app did not open the webhooks domain');
      const opened = dispatcher;
      return {
        app,
        db,
        services,
        dispatcher: opened,
        held: () => opened.heldEndpoints().map((state) => state.id),
      };
    },
  };
}
