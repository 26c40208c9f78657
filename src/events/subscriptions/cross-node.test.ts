import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { actAs, apiKeyFor } from '../../../test/helpers/auth.ts';
import { openSse } from '../../../test/helpers/sse-client.ts';
import { testEngines, testStorageConfig } from '../../../test/helpers/test-database.ts';
import { API_PREFIX, buildApp } from '../../app.ts';
import { composeServices } from '../../composition-root.ts';
import { defaultConfig } from '../../config/load.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { openDatabase } from '../../storage/open-database.ts';

/** Two Tessera nodes (each its own pool, notifier and app) sharing one database; their API URLs. */
async function twoNodes(t: TestContext): Promise<[string, string]> {
  const target = await testStorageConfig('postgres');
  t.after(() => target.cleanup());
  const base = defaultConfig();
  const config = {
    ...base,
    storage: target.storage,
    logging: { ...base.logging, level: 'silent' as const },
  };
  const nodes: string[] = [];
  let key: string | undefined;
  for (let i = 0; i < 2; i++) {
    const db = await openDatabase(target.storage);
    await migrateToLatest(db, MIGRATIONS);
    const services = composeServices(db, config);
    const app = await buildApp({ config, db, services });
    // One tenant's admin key, valid on both nodes: they share the database.
    key ??= await apiKeyFor(services, 'default');
    actAs(app, key);
    nodes.push(`${await app.listen({ host: '127.0.0.1', port: 0 })}${API_PREFIX}`);
    t.after(async () => {
      await app.close();
      await db.close();
    });
  }
  return nodes as [string, string];
}

async function appendOne(node: string, entity: string, payload: unknown): Promise<void> {
  const response = await fetch(`${node}/entities/${entity}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ event_type: 'Placed', payload }] }),
  });
  assert.equal(response.status, 201);
}

type Sse = Awaited<ReturnType<typeof openSse>>;

if (testEngines().includes('postgres')) {
  it('an event appended through one node reaches a subscriber on another (PostgreSQL)', async (t) => {
    const [writer, reader] = await twoNodes(t);
    const sse = await openSse(`${reader}/events/subscribe?entity_id=order-`);
    t.after(() => sse.close());
    assert.equal(sse.status, 200);
    for (const n of [1, 2, 3]) await appendOne(writer, `order-${n}`, { n });
    const events = await sse.events(3);
    assert.deepEqual(
      events.map((e) => [e.entity_id, e.position]),
      [
        ['order-1', 1],
        ['order-2', 2],
        ['order-3', 3],
      ],
    );
  });

  it('hands over without gap or duplicate while both nodes write in overlapping transactions', async (t) => {
    const nodes = await twoNodes(t);
    const writers = 8;
    const perWriter = 25;
    const total = writers * perWriter;
    let written = 0;
    let subscribed: Promise<Sse> | undefined;
    const write = async (w: number) => {
      for (let i = 0; i < perWriter; i++) {
        await appendOne(nodes[w % 2] as string, `w-${w}`, { i });
        // Subscribe from the start while the log is still growing on both nodes.
        written++;
        if (written === total / 4)
          subscribed = openSse(`${nodes[1]}/events/subscribe?from_position=0`);
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
    const sse = await (subscribed as Promise<Sse>);
    t.after(() => sse.close());
    const events = await sse.events(total);
    assert.deepEqual(
      events.map((e) => e.position),
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });
}
