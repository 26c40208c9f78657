import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { captureLogs, testRedisUrl } from '../../../test/helpers/app.ts';
import { startOwnRedis } from '../../../test/helpers/redis-server.ts';
import { testStorageConfig } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { buildApp, type TesseraApp } from '../../app.ts';
import { composeServices } from '../../composition-root.ts';
import { defaultConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { openRedis } from '../../platform/redis.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { openDatabase } from '../../storage/open-database.ts';
import type { RedisFailureMode } from './failover-backend.ts';

interface Node {
  readonly app: TesseraApp;
  readonly lines: Record<string, unknown>[];
}

/**
 * `count` Tessera nodes on one SQLite database, each with its own Redis client to
 * `redisUrl`, sharing a key prefix no other test uses. Buckets refill one token a
 * minute, so no count depends on how fast the test runs.
 */
async function nodes(
  t: TestContext,
  redisUrl: string,
  count: number,
  redisFailure: RedisFailureMode = 'local',
): Promise<Node[]> {
  const target = await testStorageConfig('sqlite');
  const base = defaultConfig();
  const config: Config = {
    ...base,
    storage: target.storage,
    logging: { ...base.logging, level: 'info', requests: false },
    rate_limits: {
      ...base.rate_limits,
      redis_failure: redisFailure,
      ip_per_minute: 1,
      ip_burst: 3,
    },
  };
  const keyPrefix = `test:${randomUUID()}:`;
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const close of closers) await close();
    await target.cleanup();
  });
  const built: Node[] = [];
  for (let n = 0; n < count; n++) {
    const db = await openDatabase(config.storage);
    if (n === 0) await migrateToLatest(db, MIGRATIONS);
    const { logger, lines } = captureLogs('info');
    const redis = openRedis(redisUrl);
    const app = await buildApp({
      config,
      db,
      redis,
      logger,
      services: composeServices(db, config),
      rateLimits: { keyPrefix, redisRetryMs: 50 },
    });
    closers.push(async () => {
      await app.close();
      redis.disconnect();
      await db.close();
    });
    built.push({ app, lines });
  }
  return built;
}

async function refresh(node: Node, ip = '192.0.2.1') {
  const reply = await node.app.inject({
    method: 'POST',
    url: '/api/v1/auth/refresh',
    remoteAddress: ip,
    payload: { refresh_token: 'not-a-token' },
  });
  return {
    status: reply.statusCode,
    remaining: reply.headers['x-ratelimit-remaining'],
    code: (JSON.parse(reply.body) as { code: string }).code,
  };
}

const messages = (node: Node, pattern: RegExp) =>
  node.lines.filter((line) => pattern.test(String(line.msg)));
const OUTAGE = /^rate limits: redis unreachable/;
const RECOVERY = /^rate limits: redis answers again/;

async function backendErrors(node: Node): Promise<number> {
  const body = (await node.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^rate_limit_backend_errors_total (\d+)$/m.exec(body)?.[1]);
}

describe('rate limits through Redis', () => {
  it('two app instances on one database share one budget', async (t) => {
    const url = testRedisUrl(t);
    if (!url) return;
    const [a, b] = (await nodes(t, url, 2)) as [Node, Node];
    const answers = [];
    for (const node of [a, b, a, b, a]) answers.push(await refresh(node));
    assert.deepEqual(
      answers.map((answer) => [answer.status, answer.remaining]),
      [
        [401, '2'],
        [401, '1'],
        [401, '0'],
        [429, '0'],
        [429, '0'],
      ],
    );
    assert.equal((await refresh(b, '192.0.2.2')).remaining, '2', 'another IP, another bucket');
  });

  it('local: Redis stopped mid-test → node buckets, one log line, counted; restarted → shared again', async (t) => {
    if (!testRedisUrl(t)) return;
    const server = await startOwnRedis();
    t.after(() => server.stop());
    const [a, b] = (await nodes(t, server.url, 2, 'local')) as [Node, Node];
    assert.equal((await refresh(a)).remaining, '2');
    assert.equal((await refresh(b)).remaining, '1', 'shared while Redis is up');

    await server.stop();
    // Each node limits on its own, from a full bucket: 3 each, then 429.
    const during = [];
    for (let n = 0; n < 4; n++) during.push((await refresh(a)).status);
    assert.deepEqual(during, [401, 401, 401, 429]);
    assert.equal((await refresh(b)).remaining, '2', "b's own bucket, untouched by a");
    assert.equal(messages(a, OUTAGE).length, 1, 'one warning per outage');
    assert.equal(messages(a, OUTAGE)[0]?.level, 40);
    assert.ok((await backendErrors(a)) >= 1, 'failures are counted');

    await server.start();
    for (const node of [a, b]) {
      await until(
        async () => {
          await refresh(node, '192.0.2.99');
          return messages(node, RECOVERY).length === 1;
        },
        'the node uses Redis again',
        1000,
      );
    }
    assert.equal(messages(a, OUTAGE).length, 1, 'still one warning');
    assert.equal(messages(a, RECOVERY)[0]?.level, 30);
    // The restarted Redis is empty: a fresh shared bucket, spent by both nodes.
    assert.equal((await refresh(a, '192.0.2.7')).remaining, '2');
    assert.equal((await refresh(b, '192.0.2.7')).remaining, '1');
    assert.equal((await refresh(a, '192.0.2.7')).remaining, '0');
    assert.equal((await refresh(b, '192.0.2.7')).status, 429);
  });

  it('fail_open: Redis down → not limited; fail_closed: Redis down → 503 rate_limit_unavailable', async (t) => {
    if (!testRedisUrl(t)) return;
    const server = await startOwnRedis();
    t.after(() => server.stop());
    const [open] = (await nodes(t, server.url, 1, 'fail_open')) as [Node];
    const [closed] = (await nodes(t, server.url, 1, 'fail_closed')) as [Node];
    assert.equal((await refresh(open)).remaining, '2');
    assert.equal((await refresh(closed)).remaining, '2', 'a prefix of its own');
    await server.stop();

    const opened = [];
    for (let n = 0; n < 6; n++) opened.push(await refresh(open));
    assert.deepEqual(
      opened.map((answer) => [answer.status, answer.remaining]),
      Array.from({ length: 6 }, () => [401, undefined]),
    );
    const refused = await refresh(closed);
    assert.deepEqual([refused.status, refused.code], [503, 'rate_limit_unavailable']);
    for (const node of [open, closed]) {
      assert.equal(messages(node, OUTAGE).length, 1);
      assert.ok((await backendErrors(node)) >= 1);
      // The 503s are the configured answer, not failures to log one by one.
      assert.equal(node.lines.filter((line) => line.level === 50).length, 0);
    }

    await server.start();
    await until(
      async () => (await refresh(closed, '192.0.2.50')).status === 401,
      'fail_closed serves again once Redis answers',
      1000,
    );
    assert.equal(messages(closed, RECOVERY).length, 1);
  });
});
