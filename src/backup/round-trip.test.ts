import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import {
  assertRestored,
  checkpointEveryChain,
  copyMasterKey,
  dumpTables,
  emptyDatabase,
  masterKeyOf,
  signingKeyOf,
} from '../../test/helpers/backup-fixture.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import { type Credential, tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { buildApp, type TesseraApp } from '../app.ts';
import { composeServices } from '../composition-root.ts';
import type { Config } from '../config/schema.ts';
import { assertChainsIntact } from '../events/chain-append.contract.ts';
import type { Engine } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import { restoreBackup } from './restore.ts';
import { createBackup } from './write-backup.ts';

const PASSWORD = 'correct-horse-battery';

interface Seeded {
  readonly acme: Credential;
  readonly token: Credential;
  readonly refreshToken: string;
}

/** A tenant with a user who logged in, API keys, events (batches, client ids), a snapshot. */
async function seed(t: TestContext, engine: Engine) {
  const source = await tenancyTestApp(t, engine, { auth: { credential_cache_seconds: 0 } });
  const acme = await source.keyFor('acme');
  const created = await source.send('POST', '/users', acme, {
    email: 'ann@example.com',
    name: 'Ann',
    roles: ['admin'],
    password: PASSWORD,
  });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  await source.acceptInvitation('ann@example.com', PASSWORD, 'acme');
  const login = await source.send('POST', '/auth/login', null, {
    email: 'ann@example.com',
    password: PASSWORD,
    tenant_id: 'acme',
  });
  assert.equal(login.status, 200);
  const token = { token: String(login.body.access_token) };
  for (let batch = 0; batch < 5; batch++) {
    const reply = await source.send('POST', '/events', token, {
      events: ['order-1', 'order-2', 'cart-9'].map((entity, i) => ({
        id: i === 0 ? randomUUID() : undefined,
        entity_id: entity,
        event_type: batch === 0 ? 'created' : 'changed',
        payload: { batch, total: batch * 10.5, name: 'Zoë 😀', nested: { z: 1, a: [1, 'two'] } },
        metadata: { correlation_id: `c-${batch}` },
      })),
    });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
  }
  assert.equal(
    (await source.send('POST', '/snapshots', token, { entity_id: 'order-1' })).status,
    201,
  );
  await checkpointEveryChain(source);
  const seeded: Seeded = { acme, token, refreshToken: String(login.body.refresh_token) };
  return { source, seeded };
}

/** The app a server would build on a restored database, with the source's master key. */
async function appOn(
  t: TestContext,
  config: Config,
  db: Database,
  key: Buffer,
): Promise<TesseraApp> {
  const services = composeServices(db, config, { TESSERA_MASTER_KEY: key.toString('base64') });
  const app = await buildApp({ config, db, services });
  t.after(() => app.close());
  return app;
}

async function get(app: TesseraApp, url: string, as: Credential) {
  const headers: Record<string, string> = {};
  if (as && 'token' in as) headers.authorization = `Bearer ${as.token}`;
  if (as && 'key' in as) headers['x-api-key'] = as.key;
  const reply = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
  return { status: reply.statusCode, body: reply.json() as Record<string, unknown> };
}

/** What a client sees of the tenant's data, for comparing two deployments. */
async function queryResults(app: TesseraApp, as: Credential) {
  const results: unknown[] = [];
  for (const url of [
    '/events/query?limit=1000',
    '/events/query?entity_id=order-1',
    '/events/query?event_type=created',
    '/entities',
    '/entities/order-1/events',
    '/entities/cart-9/state',
    '/snapshots/order-1/latest',
    '/stats',
  ]) {
    const reply = await get(app, url, as);
    assert.equal(reply.status, 200, `${url}: ${JSON.stringify(reply.body)}`);
    results.push(reply.body);
  }
  return results;
}

const engines = testEngines();
const pairs = engines.flatMap((from) => engines.map((to) => [from, to] as const));

for (const [from, to] of pairs) {
  describe(`restore from ${from} into ${to}`, () => {
    it('brings back every row, and data, logins and tokens behave as before', async (t) => {
      const { source, seeded } = await seed(t, from);
      const dir = tempDirFor(t, 'tessera-backup-');
      const file = await createBackup(source.db, {
        dir,
        signingKey: signingKeyOf(source.config.storage),
      });
      const target = await emptyDatabase(t, to);
      copyMasterKey(source.config.storage, target.storage);
      const key = masterKeyOf(source.config.storage);
      // The copied master key is all the target needs: the signing key derives from it.
      await restoreBackup(target.db, file.path, {
        masterKey: masterKeyOf(target.storage),
        signingKey: signingKeyOf(target.storage),
      });

      const head = file.manifest.events.head_position;
      assertRestored(await dumpTables(source.db), await dumpTables(target.db), head);

      const config = { ...source.config, storage: target.storage };
      const app = await appOn(t, config, target.db, key);
      // The access token issued before the backup still verifies, reads agree.
      assert.deepEqual(
        await queryResults(app, seeded.token),
        await queryResults(source.app, seeded.token),
      );
      // Versions and positions continue: the restore's audit event took head + 1.
      const appended = await app.inject({
        method: 'POST',
        url: '/api/v1/entities/order-1/events',
        headers: {
          authorization: `Bearer ${seeded.token && 'token' in seeded.token ? seeded.token.token : ''}`,
        },
        payload: { expected_version: 4, events: [{ event_type: 'shipped', payload: {} }] },
      });
      assert.equal(appended.statusCode, 201, appended.body);
      const event = (appended.json() as { events: { version: number; position: number }[] })
        .events[0];
      assert.deepEqual([event?.version, event?.position], [5, head + 2]);
      // Every chain restored verifies, and the appends after the restore continue it.
      await assertChainsIntact(target.db, to);
      // The API key, the refresh token and the password still work.
      assert.equal((await get(app, '/entities', seeded.acme)).status, 200);
      const refreshed = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: seeded.refreshToken },
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'ann@example.com', password: PASSWORD, tenant_id: 'acme' },
      });
      assert.equal(login.statusCode, 200, login.body);
    });
  });
}

if (engines.includes('postgres')) {
  it('SQLite → PostgreSQL → SQLite gives identical query results', async (t) => {
    const { source, seeded } = await seed(t, 'sqlite');
    const key = masterKeyOf(source.config.storage);
    let from: { db: Database; storage: Config['storage'] } = {
      db: source.db,
      storage: source.config.storage,
    };
    for (const engine of ['postgres', 'sqlite'] as const) {
      const dir = tempDirFor(t, 'tessera-backup-');
      const file = await createBackup(from.db, { dir, signingKey: signingKeyOf(from.storage) });
      const next = await emptyDatabase(t, engine);
      copyMasterKey(from.storage, next.storage);
      await restoreBackup(next.db, file.path, {
        masterKey: key,
        signingKey: signingKeyOf(next.storage),
      });
      from = next;
    }
    const app = await appOn(t, { ...source.config, storage: from.storage }, from.db, key);
    assert.deepEqual(
      await queryResults(app, seeded.token),
      await queryResults(source.app, seeded.token),
    );
  });
}
