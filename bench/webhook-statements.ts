import type { KyselyPlugin, OperationNode } from 'kysely';
import { buildApp } from '../src/app.ts';
import { composeServices } from '../src/composition-root.ts';
import type { Config } from '../src/config/schema.ts';
import { openEvents } from '../src/events/open-events.ts';
import type { EventStore } from '../src/events/store.ts';
import type { Engine } from '../src/storage/database.ts';
import type { Database } from '../src/storage/open-database.ts';
import { benchEvent, TENANT, withScratch } from './events-fixture.ts';
import { loadInWorker } from './http-load.ts';
import { startReceivers } from './webhook-receivers.ts';

/**
 * What the webhook dispatcher asks of the database per appended event: a diagnostic
 * beside `npm run bench`'s webhooks section (not part of it). One-event HTTP appends
 * from `clients` keep-alive clients for a few seconds, `endpoints` endpoints receiving
 * everything; counts the event store's `headPosition` and `readLog` calls made through
 * the store the dispatcher holds, the statements on the webhook tables run outside a
 * transaction, the transactions opened with `db.transaction` (the dispatcher's flushes:
 * attempt rows and the cursor), and the log wakes.
 *
 *   npx node bench/webhook-statements.ts [sqlite|postgres] [clients=1] [endpoints=5] [ms=3000]
 *
 * PostgreSQL needs TESSERA_TEST_DATABASE_URL, as `npm run bench` does.
 */
const [engineArg = 'sqlite', clientsArg = '1', endpointsArg = '5', msArg = '3000'] =
  process.argv.slice(2);
const engine = engineArg as Engine;
const clients = Number(clientsArg);
const endpoints = Number(endpointsArg);
const durationMs = Number(msArg);

const counts = new Map<string, number>();
let counting = false;
const count = (what: string) => {
  if (counting) counts.set(what, (counts.get(what) ?? 0) + 1);
};

/** The table a statement names first (enough to tell the webhook tables apart). */
function tableOf(node: OperationNode): string {
  const seen = new Set<unknown>();
  const find = (value: unknown): string | undefined => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (record.kind === 'TableNode') {
      const table = record.table as { identifier?: { name?: string } } | undefined;
      return table?.identifier?.name;
    }
    for (const key of ['from', 'froms', 'table', 'into', 'node']) {
      const inner = record[key];
      const found = Array.isArray(inner) ? inner.map(find).find(Boolean) : find(inner);
      if (found) return found;
    }
    return undefined;
  };
  return find(node) ?? '?';
}

const counter: KyselyPlugin = {
  transformQuery(args) {
    const table = tableOf(args.node);
    if (table.startsWith('webhook_')) count(`${args.node.kind} ${table}`);
    return args.node;
  },
  async transformResult(args) {
    return args.result;
  },
};

/** The store as the dispatcher sees it, its log reads counted. */
function countedStore(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'headPosition') {
        return () => {
          count('store.headPosition');
          return target.headPosition();
        };
      }
      if (property === 'readLog') {
        return (...args: Parameters<EventStore['readLog']>) => {
          count(`store.readLog ${args[0].startsWith('$') ? '(audit)' : '(tenant)'}`);
          return target.readLog(...args);
        };
      }
      return value;
    },
  });
}

const receivers = await startReceivers(Math.max(1, endpoints));
try {
  await withScratch(engine, async (scratch) => {
    const config: Config = {
      ...scratch.config,
      webhooks: {
        ...scratch.config.webhooks,
        allow_insecure_urls: true,
        allow_private_networks: true,
      },
    };
    const db = {
      ...scratch.db,
      kysely: scratch.db.kysely.withPlugin(counter),
      transaction: <T>(fn: Parameters<Database['transaction']>[0]) => {
        count('db.transaction');
        return scratch.db.transaction(fn) as Promise<T>;
      },
    } as Database;
    const events = await openEvents(db, config);
    events.notifier.subscribe(() => count('log wake'));
    const services = composeServices(db, config);
    const app = await buildApp({
      config,
      db,
      services,
      events: { ...events, store: countedStore(events.store) },
    });
    try {
      await services.tenancy.tenants.create({ id: TENANT, name: TENANT, plan: 'unlimited' });
      const key = await services.identity.apiKeys.create({
        tenant_id: TENANT,
        name: 'bench',
        role: 'admin',
        created_by: null,
        expires_ms: null,
      });
      const api = `${await app.listen({ host: '127.0.0.1', port: 0 })}/api/v1`;
      for (let i = 0; i < endpoints; i++) {
        const created = await app.inject({
          method: 'POST',
          url: '/api/v1/webhooks',
          headers: { 'x-api-key': key.secret },
          payload: { url: receivers.urls[i], event_types: ['*'] },
        });
        if (created.statusCode !== 201) throw new Error(`endpoint: ${created.body}`);
      }
      const spec = {
        method: 'POST' as const,
        apiKey: key.secret,
        url: `${api}/entities/load-{client}/events`,
        body: JSON.stringify({ events: [benchEvent(0)] }),
        concurrency: clients,
        durationMs,
      };
      await loadInWorker({ ...spec, durationMs: 500 });
      receivers.reset();
      counting = true;
      const result = await loadInWorker(spec);
      counting = false;
      let delivered = 0;
      for (let i = 0; i < endpoints; i++) delivered += receivers.count(i);
      const appended = result.requests;
      process.stdout.write(
        `${engine}, ${clients} client(s), ${endpoints} endpoint(s), ${durationMs} ms: ` +
          `${Math.round(result.perSecond)} appends/s (${appended} events), ` +
          `${delivered} deliveries meanwhile\n\n| Call | Count | Per appended event | Per delivery |\n| --- | ---: | ---: | ---: |\n`,
      );
      for (const [what, n] of [...counts].sort((a, b) => b[1] - a[1])) {
        const perDelivery = delivered > 0 ? (n / delivered).toFixed(3) : '—';
        process.stdout.write(
          `| ${what} | ${n} | ${(n / Math.max(1, appended)).toFixed(3)} | ${perDelivery} |\n`,
        );
      }
    } finally {
      await app.close();
      await events.close();
    }
  });
} finally {
  await receivers.close();
}
