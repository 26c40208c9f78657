import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { testStorageConfig } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { buildApp, type TesseraApp } from '../../app.ts';
import { composeServices, type Services } from '../../composition-root.ts';
import { defaultConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { openDatabase, type PostgresDatabase } from '../../storage/open-database.ts';
import { CHANGE_FEED_APPLICATION_NAME } from '../../storage/postgres/pg-change-feed.ts';
import { hashPassword } from '../login/passwords.ts';

/** Where migration 0005's triggers announce credential changes. */
const CREDENTIALS_CHANNEL = 'tessera_credentials';

interface Node {
  readonly app: TesseraApp;
  readonly db: PostgresDatabase;
  readonly services: Services;
}

/** Two Tessera nodes (own pools, own caches, own change feeds) on one fresh database. */
async function twoNodes(t: TestContext, auth: Partial<Config['auth']> = {}): Promise<Node[]> {
  const target = await testStorageConfig('postgres');
  const base = defaultConfig();
  const config: Config = {
    ...base,
    logging: { ...base.logging, level: 'silent' },
    storage: target.storage,
    auth: { ...base.auth, ...auth },
  };
  const nodes: Node[] = [];
  t.after(async () => {
    for (const node of nodes) {
      await node.app.close();
      await node.db.close();
    }
    await target.cleanup();
  });
  for (let n = 0; n < 2; n++) {
    const db = await openDatabase(config.storage);
    if (db.engine !== 'postgres') throw new Error('expected PostgreSQL');
    if (n === 0) await migrateToLatest(db, MIGRATIONS);
    const services = composeServices(db, config);
    nodes.push({ app: await buildApp({ config, db, services }), db, services });
  }
  return nodes;
}

type Credential = { apiKey: string } | { bearer: string };

async function status(node: Node, as: Credential, url = '/api/v1/stats'): Promise<number> {
  const headers =
    'apiKey' in as ? { 'x-api-key': as.apiKey } : { authorization: `Bearer ${as.bearer}` };
  return (await node.app.inject({ method: 'GET', url, headers })).statusCode;
}

/** A member of acme with `roles`, logged in through `node`. */
async function member(node: Node, email: string, roles: string[]) {
  const { services } = node;
  if (!(await services.tenancy.tenants.get('acme'))) {
    await services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
  }
  const user = await services.identity.users.createUser({
    email,
    password_hash: await hashPassword('correct horse battery'),
  });
  await services.tenancy.memberships.grant('acme', user.id, roles);
  const login = await node.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password: 'correct horse battery' },
  });
  assert.equal(login.statusCode, 200, login.body);
  const body = login.json<{ access_token: string; session_id?: string }>();
  return { userId: user.id, bearer: body.access_token };
}

/** Until `node` answers `expected` for `as`: another node's change arrives by NOTIFY. */
async function answers(node: Node, as: Credential, expected: number): Promise<void> {
  await until(async () => (await status(node, as)) === expected, `the node answers ${expected}`);
}

describe('credential changes across nodes (PostgreSQL)', { skip: skipWithoutPostgres }, () => {
  it('reaches a node that cached the credential when another node changes it', async (t) => {
    const [a, b] = (await twoNodes(t)) as [Node, Node];
    const key = { apiKey: await apiKeyFor(a.services, 'acme', 'viewer') };
    const ann = await member(a, 'ann@acme.example', ['viewer']);
    const bearer = { bearer: ann.bearer };
    assert.equal(await status(a, key), 200);
    assert.equal(await status(a, bearer), 200);
    assert.equal(a.services.identity.credentials.size, 2, 'node a answers from its cache');

    // Roles: taken away on b, node a stops granting events:read.
    await b.services.tenancy.memberships.grant('acme', ann.userId, ['guest']);
    await answers(a, bearer, 403);
    await b.services.tenancy.memberships.grant('acme', ann.userId, ['viewer']);
    await answers(a, bearer, 200);

    // Suspending the tenant on b ends both credentials on a; reactivating restores them.
    await b.services.tenancy.tenants.setStatus('acme', 'suspended');
    await answers(a, key, 403);
    await answers(a, bearer, 403);
    await b.services.tenancy.tenants.setStatus('acme', 'active');
    await answers(a, key, 200);
    await answers(a, bearer, 200);

    // Revoking the key and the session on b.
    const [listed] = await b.services.identity.apiKeys.list('acme', { limit: 10 });
    assert.ok(listed && (await b.services.identity.apiKeys.revoke('acme', listed.id)));
    await answers(a, key, 401);
    const session = await a.db.pool.query<{ id: string }>(
      'SELECT id FROM sessions WHERE user_id = $1',
      [ann.userId],
    );
    await b.services.identity.sessions.revoke(String(session.rows[0]?.id), 'logout');
    await answers(a, bearer, 401);
  });

  it("hears an operator's SQL", async (t) => {
    const [a] = (await twoNodes(t)) as [Node, Node];
    const ann = await member(a, 'ann@acme.example', ['viewer']);
    const bearer = { bearer: ann.bearer };
    assert.equal(await status(a, bearer), 200);
    await a.db.pool.query('UPDATE sessions SET revoked_ms = 1 WHERE user_id = $1', [ann.userId]);
    await answers(a, bearer, 401);
  });

  it('reuses answers until told: with the trigger off, a revoked key still works on a node that cached it', async (t) => {
    const [a, b] = (await twoNodes(t)) as [Node, Node];
    const key = { apiKey: await apiKeyFor(a.services, 'acme', 'viewer') };
    assert.equal(await status(a, key), 200);
    await a.db.pool.query('ALTER TABLE api_keys DISABLE TRIGGER api_keys_credentials');
    await a.db.pool.query('UPDATE api_keys SET revoked_ms = 1');
    // b never looked the key up, so it reads the revocation; a answers from memory
    // (this is what the TTL bounds, should a notification ever be lost).
    assert.equal(await status(b, key), 401);
    assert.equal(await status(a, key), 200);
  });

  it('stops reusing answers while its listener is down and resumes once it reconnects', async (t) => {
    const [a] = (await twoNodes(t)) as [Node, Node];
    const key = { apiKey: await apiKeyFor(a.services, 'acme', 'viewer') };
    assert.equal(await status(a, key), 200);
    assert.equal(a.services.identity.credentials.size, 1);
    // Changes from now on go unannounced, and the change feed's connection dies.
    await a.db.pool.query('ALTER TABLE api_keys DISABLE TRIGGER api_keys_credentials');
    await a.db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()`,
      [CHANGE_FEED_APPLICATION_NAME],
    );
    await until(() => a.services.identity.credentials.size === 0, 'the cache is dropped');
    await a.db.pool.query('UPDATE api_keys SET revoked_ms = 1');
    assert.equal(await status(a, key), 401);

    // Both nodes' listeners were cut; both come back.
    await until(async () => (await listeners(a.db)) === 2, 'the listeners reconnect');
    const other = { apiKey: await apiKeyFor(a.services, 'acme', 'viewer') };
    assert.equal(await status(a, other), 200);
    assert.equal(a.services.identity.credentials.size, 1, 'caching again');
  });

  it('announces exactly the changes that matter, at commit', async (t) => {
    const [a] = (await twoNodes(t)) as [Node, Node];
    const ann = await member(a, 'ann@acme.example', ['viewer']);
    const key = await apiKeyFor(a.services, 'acme', 'viewer');
    const [record] = await a.services.identity.apiKeys.list('acme', { limit: 1 });
    const heard = await hear(t, a.db);
    const pool = a.db.pool;
    await pool.query('UPDATE api_keys SET last_used_ms = 5, name = $1', ['renamed']);
    await pool.query("UPDATE tenants SET name = 'Acme Inc', plan = 'pro'");
    await pool.query("UPDATE users SET name = 'Ann'");
    const rolledBack = await pool.connect();
    await rolledBack.query('BEGIN');
    await rolledBack.query('UPDATE api_keys SET revoked_ms = 1');
    await rolledBack.query('ROLLBACK');
    rolledBack.release();
    await pool.query("UPDATE tenants SET status = 'suspended' WHERE id = 'acme'");
    await pool.query("UPDATE users SET status = 'disabled' WHERE id = $1", [ann.userId]);
    await pool.query(`UPDATE memberships SET roles = '["admin"]' WHERE user_id = $1`, [ann.userId]);
    await pool.query('UPDATE sessions SET revoked_ms = 1 WHERE user_id = $1', [ann.userId]);
    await pool.query('UPDATE api_keys SET revoked_ms = 1 WHERE id = $1', [record?.id]);
    await pool.query('DELETE FROM memberships WHERE user_id = $1', [ann.userId]);
    const session = await pool.query<{ id: string }>('SELECT id FROM sessions');
    const expected = [
      'tenant:acme',
      `user:${ann.userId}`,
      `user:${ann.userId}`,
      `session:${session.rows[0]?.id}`,
      `api_key:${record?.id}`,
      `user:${ann.userId}`,
    ];
    await until(() => heard.length >= expected.length, 'every notification arrives');
    assert.deepEqual(heard, expected);
    assert.ok(key.startsWith('tsk_'));
  });
});

async function listeners(db: PostgresDatabase): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = $1 AND datname = current_database() AND query LIKE 'LISTEN%'`,
    [CHANGE_FEED_APPLICATION_NAME],
  );
  return rows[0]?.n ?? 0;
}

/** Every payload on the credentials channel from now on, in order. */
async function hear(t: TestContext, db: PostgresDatabase): Promise<string[]> {
  const client = new pg.Client(db.pool.options);
  // The database is dropped (connections terminated) after the test, maybe before this ends.
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.end());
  const heard: string[] = [];
  client.on('notification', (message) => heard.push(message.payload ?? ''));
  await client.query(`LISTEN ${CREDENTIALS_CHANNEL}`);
  return heard;
}
