import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { createSigningKeys } from './signing-keys.ts';
import { JWKS_PATH, wellKnownRoutes } from './well-known-routes.ts';

async function setup(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const keys = createSigningKeys(test.db, randomBytes(32), { accessTtlSeconds: 900 });
  await keys.ensureKey();
  // A bare app: src/app.ts may register the same plugin, and a route can be added only once.
  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(wellKnownRoutes, { keys });
  t.after(() => app.close());
  return { app, keys };
}

for (const engine of testEngines()) {
  describe(`well-known routes (${engine})`, () => {
    it('GET /.well-known/jwks.json publishes the public keys, cacheable, nothing private', async (t) => {
      const { app, keys } = await setup(t, engine);
      const first = await app.inject({ method: 'GET', url: JWKS_PATH });
      assert.equal(first.statusCode, 200);
      assert.match(first.headers['content-type'] as string, /^application\/json/);
      assert.equal(first.headers['cache-control'], 'public, max-age=300');
      const { kid } = await keys.signingKey();
      const body = first.json() as { keys: Record<string, unknown>[] };
      assert.deepEqual(body, { keys: await keys.publicKeys() });
      assert.deepEqual(Object.keys(body.keys[0] ?? {}).sort(), [
        'alg',
        'crv',
        'kid',
        'kty',
        'use',
        'x',
      ]);
      assert.equal(body.keys[0]?.kid, kid);
      assert.doesNotMatch(first.body, /"d"/);

      const rotated = await keys.rotate();
      const second = (await app.inject({ method: 'GET', url: JWKS_PATH })).json() as typeof body;
      assert.deepEqual(
        second.keys.map((key) => key.kid),
        [rotated.kid, kid],
      );
    });
  });
}
