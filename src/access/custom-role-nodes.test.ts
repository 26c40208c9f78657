import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../test/helpers/auth.ts';
import { testStorageConfig } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';
import { buildApp, type TesseraApp } from '../app.ts';
import { defaultConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { skipWithoutPostgres } from '../events/postgres/test-fixture.ts';
import { type Identity, openIdentity } from '../identity/open-identity.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { openDatabase } from '../storage/open-database.ts';

interface Node {
  readonly app: TesseraApp;
  readonly identity: Identity;
}

/** Two Tessera nodes (own pools, caches and listeners) on one fresh PostgreSQL database. */
async function twoNodes(t: TestContext): Promise<[Node, Node]> {
  const target = await testStorageConfig('postgres');
  const base = defaultConfig();
  const config: Config = {
    ...base,
    logging: { ...base.logging, level: 'silent' },
    storage: target.storage,
  };
  const nodes: Node[] = [];
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const close of closers) await close();
    await target.cleanup();
  });
  for (let n = 0; n < 2; n++) {
    const db = await openDatabase(config.storage);
    if (n === 0) await migrateToLatest(db, MIGRATIONS);
    const identity = openIdentity(db, config);
    const app = await buildApp({ config, db, identity });
    closers.push(async () => {
      await app.close();
      await db.close();
    });
    nodes.push({ app, identity });
  }
  return nodes as [Node, Node];
}

async function send(node: Node, method: string, url: string, key: string, payload?: object) {
  const reply = await node.app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers: { 'x-api-key': key },
    ...(payload ? { payload } : {}),
  });
  return reply.statusCode;
}

describe('custom role changes across nodes (PostgreSQL)', { skip: skipWithoutPostgres }, () => {
  it('reach a node that cached the role when another node changes it', async (t) => {
    const [a, b] = await twoNodes(t);
    const admin = await apiKeyFor(a.identity, 'acme', 'admin');
    assert.equal(
      await send(b, 'POST', '/roles', admin, { name: 'reader', permissions: ['events:read'] }),
      201,
    );
    const reader = await apiKeyFor(a.identity, 'acme', 'reader');
    assert.equal(await send(a, 'GET', '/entities', reader), 200);
    const cached = a.identity.credentials.size;
    assert.equal(await send(a, 'GET', '/entities', reader), 200);
    assert.equal(a.identity.credentials.size, cached, 'node a answers from its cache');

    const readerAnswers = (status: number) => async () =>
      (await send(a, 'GET', '/entities', reader)) === status;
    const patch = (permissions: string[]) =>
      send(b, 'PATCH', '/roles/reader', admin, { permissions });
    assert.equal(await patch(['metrics:read']), 200);
    await until(readerAnswers(403), 'node a stops granting events:read');
    assert.equal(await patch(['events:read']), 200);
    await until(readerAnswers(200), 'node a grants events:read again');
  });
});
