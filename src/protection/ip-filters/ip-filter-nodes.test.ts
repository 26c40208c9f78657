import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { testStorageConfig } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { buildApp, type TesseraApp } from '../../app.ts';
import { composeServices } from '../../composition-root.ts';
import { defaultConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';

interface Node {
  readonly app: TesseraApp;
  readonly db: Database;
}

/** `count` Tessera nodes (own pools, caches and listeners) on one fresh database. */
async function nodes(
  t: TestContext,
  engine: Engine,
  count: number,
  server: Partial<Config['server']> = {},
): Promise<Node[]> {
  const target = await testStorageConfig(engine);
  const base = defaultConfig();
  const config: Config = {
    ...base,
    logging: { ...base.logging, level: 'silent' },
    storage: target.storage,
    server: { ...base.server, ...server },
  };
  const started: Node[] = [];
  t.after(async () => {
    for (const node of started) {
      await node.app.close();
      await node.db.close();
    }
    await target.cleanup();
  });
  for (let n = 0; n < count; n++) {
    const db = await openDatabase(config.storage);
    if (n === 0) await migrateToLatest(db, MIGRATIONS);
    started.push({
      app: await buildApp({ config, db, services: composeServices(db, config) }),
      db,
    });
  }
  return started;
}

async function send(
  node: Node,
  key: string,
  from: string,
  method: 'GET' | 'POST' | 'DELETE' = 'GET',
  url = '/api/v1/stats',
  payload?: object,
) {
  return node.app.inject({
    method,
    url,
    remoteAddress: from,
    headers: { 'x-api-key': key },
    ...(payload ? { payload } : {}),
  });
}

describe('IP filters across nodes (postgres)', { skip: skipWithoutPostgres }, () => {
  it('a change made through one node applies on the other', async (t) => {
    const [a, b] = (await nodes(t, 'postgres', 2)) as [Node, Node];
    const key = await apiKeyFor(composeServices(a.db, defaultConfig()), 'acme');
    const platform = await apiKeyFor(composeServices(a.db, defaultConfig()), 'system');
    assert.equal((await send(b, key, '203.0.113.5')).statusCode, 200);

    const added = await send(a, platform, '127.0.0.1', 'POST', '/api/v1/ip-filters', {
      cidr: '203.0.113.0/24',
      action: 'block',
      reason: 'botnet',
      scope: 'global',
    });
    assert.equal(added.statusCode, 201, added.body);
    // Through this node's own API: at once, before the answer.
    assert.equal((await send(a, key, '203.0.113.5')).statusCode, 403);
    await until(
      async () => (await send(b, key, '203.0.113.5')).statusCode === 403,
      'the other node hears of the change',
    );

    const removed = await send(
      b,
      platform,
      '127.0.0.1',
      'DELETE',
      `/api/v1/ip-filters/${added.json().id}`,
    );
    assert.equal(removed.statusCode, 204);
    assert.equal((await send(b, key, '203.0.113.5')).statusCode, 200);
    await until(
      async () => (await send(a, key, '203.0.113.5')).statusCode === 200,
      'the first node hears of the removal',
    );
  });
});

describe('IP filters on SQLite', () => {
  it('re-reads the lists periodically, as a safety net', async (t) => {
    // A write through the server's own connection moves no data version and sends no
    // notification: only the periodic re-read finds it.
    const [node] = (await nodes(t, 'sqlite', 1, { ip_filter_refresh_ms: 100 })) as [Node];
    const key = await apiKeyFor(composeServices(node.db, defaultConfig()), 'acme');
    assert.equal((await send(node, key, '192.0.2.1')).statusCode, 200);
    await node.db.kysely
      .insertInto('ip_filters')
      .values({
        id: 'written-by-hand',
        tenant_id: 'acme',
        cidr: '192.0.2.0/24',
        action: 'block',
        reason: 'operator SQL',
        created_by: null,
        created_by_type: 'cli',
        created_ms: Date.now(),
      })
      .execute();
    await until(
      async () => (await send(node, key, '192.0.2.1')).statusCode === 403,
      'the periodic re-read applies the entry',
    );
  });

  it('skips a stored entry that is not a valid range, and applies the rest', async (t) => {
    const [node] = (await nodes(t, 'sqlite', 1, { ip_filter_refresh_ms: 100 })) as [Node];
    const key = await apiKeyFor(composeServices(node.db, defaultConfig()), 'acme');
    const row = (id: string, cidr: string) => ({
      id,
      tenant_id: 'acme',
      cidr,
      action: 'block',
      reason: 'operator SQL',
      created_by: null,
      created_by_type: 'cli',
      created_ms: Date.now(),
    });
    await node.db.kysely
      .insertInto('ip_filters')
      .values([row('bad', 'not a range'), row('good', '198.51.100.0/24')])
      .execute();
    await until(
      async () => (await send(node, key, '198.51.100.1')).statusCode === 403,
      'the valid entry applies',
    );
    assert.equal((await send(node, key, '192.0.2.1')).statusCode, 200);
  });
});
