import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { buildTestApp, testRedisUrl } from '../../test/helpers/app.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { openRedis } from '../platform/redis.ts';
import { TESSERA_VERSION } from '../platform/version.ts';
import { migrateToLatest } from '../storage/migrate.ts';

const LATEST = MIGRATIONS.at(-1)?.version ?? 0;

for (const engine of testEngines()) {
  describe(`health endpoints (${engine})`, () => {
    it('GET /health: 200 ok with version, uptime and the database', async () => {
      const test = await buildTestApp({}, engine);
      try {
        const response = await test.app.inject({ url: '/health' });
        assert.equal(response.statusCode, 200);
        const body = response.json();
        assert.equal(body.status, 'ok');
        assert.equal(body.version, TESSERA_VERSION);
        assert.equal(typeof body.uptime_seconds, 'number');
        assert.ok(body.uptime_seconds > 0);
        assert.deepEqual(body.database, { engine, ok: true });
        assert.equal('redis' in body, false, 'no redis member without Redis');
      } finally {
        await test.close();
      }
    });

    it('a closed database: /health 503 unavailable, /readiness 503 naming the database, /liveness 200', async () => {
      const test = await buildTestApp({}, engine);
      try {
        await test.db.close();
        const health = await test.app.inject({ url: '/health' });
        assert.equal(health.statusCode, 503);
        assert.equal(health.json().status, 'unavailable');
        assert.deepEqual(health.json().database, { engine, ok: false });
        const readiness = await test.app.inject({ url: '/readiness' });
        assert.equal(readiness.statusCode, 503);
        assert.deepEqual(readiness.json(), {
          status: 'not_ready',
          failed: ['database'],
          database: { ok: false },
        });
        const liveness = await test.app.inject({ url: '/liveness' });
        assert.equal(liveness.statusCode, 200);
        assert.deepEqual(liveness.json(), { status: 'alive' });
      } finally {
        await test.close();
      }
    });

    it('GET /readiness: 503 before migrations, 200 after migrateToLatest', async () => {
      const test = await buildTestApp({}, engine, { migrate: false });
      try {
        const before = await test.app.inject({ url: '/readiness' });
        assert.equal(before.statusCode, 503);
        assert.deepEqual(before.json(), {
          status: 'not_ready',
          failed: ['migrations'],
          database: { ok: true },
          migrations: {
            ok: false,
            current: 0,
            latest: LATEST,
            pending: MIGRATIONS.map((m) => m.version),
          },
        });
        await migrateToLatest(test.db, MIGRATIONS);
        const after = await test.app.inject({ url: '/readiness' });
        assert.equal(after.statusCode, 200);
        assert.deepEqual(after.json(), {
          status: 'ready',
          failed: [],
          database: { ok: true },
          migrations: { ok: true, current: LATEST, latest: LATEST, pending: [] },
        });
      } finally {
        await test.close();
      }
    });
  });
}

describe('health with Redis', () => {
  it('a reachable Redis: 200 ok with redis.ok true', async (t) => {
    const url = testRedisUrl(t);
    if (!url) return;
    const redis = openRedis(url);
    const test = await buildTestApp({}, 'sqlite', { redis });
    try {
      const response = await test.app.inject({ url: '/health' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().status, 'ok');
      assert.deepEqual(response.json().redis, { ok: true });
    } finally {
      await test.close();
      redis.disconnect();
    }
  });

  it('an unreachable Redis: 200 degraded, since a single node works without it', async () => {
    const redis: Redis = openRedis('redis://127.0.0.1:1');
    const test = await buildTestApp({}, 'sqlite', { redis });
    try {
      const response = await test.app.inject({ url: '/health' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().status, 'degraded');
      assert.deepEqual(response.json().redis, { ok: false });
      assert.equal(response.json().database.ok, true);
      const readiness = await test.app.inject({ url: '/readiness' });
      assert.equal(readiness.statusCode, 200, 'Redis is not part of readiness');
    } finally {
      await test.close();
      redis.disconnect();
    }
  });
});
