import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { freePort } from '../../../test/helpers/cli.ts';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { createAccessTokens } from './access-token.ts';
import { createSigningKeys } from './signing-keys.ts';
import { JWKS_PATH, wellKnownRoutes } from './well-known-routes.ts';

const AUDIENCE = 'tessera';
const WHO = {
  sub: 'user-1',
  tid: 'acme',
  roles: ['developer'],
  sid: 'session-1',
  email_verified: false,
  amr: ['pwd', 'otp', 'mfa'],
  auth_time: 1_735_689_000,
};

/** Tessera's key publication, really listening on 127.0.0.1, as a resource server sees it. */
async function listening(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const keys = createSigningKeys(test.db, randomBytes(32), { accessTtlSeconds: 900 });
  await keys.ensureKey();
  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(wellKnownRoutes, { keys });
  await app.listen({ host: '127.0.0.1', port });
  t.after(() => app.close());
  const tokens = createAccessTokens({ keys, issuer, audience: AUDIENCE, ttlSeconds: 900 });
  return { issuer, keys, tokens };
}

/**
 * What any resource server does: fetch the JWKS, then verify signature, iss, aud, exp.
 * (Discovery naming this JWKS is the OpenID Provider's, tested in identity/oidc/.)
 */
async function discover(issuer: string) {
  // No cooldown: jose by default waits 30 s before refetching for an unknown kid.
  return createRemoteJWKSet(new URL(`${issuer}${JWKS_PATH}`), { cooldownDuration: 0 });
}

for (const engine of testEngines()) {
  describe(`a standard JWT library verifies Tessera tokens (${engine})`, () => {
    it('jose verifies an access token against the published JWKS', async (t) => {
      const { issuer, tokens } = await listening(t, engine);
      const jwks = await discover(issuer);
      const { token, jti } = await tokens.issue(WHO);
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer,
        audience: AUDIENCE,
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
      });
      assert.equal(protectedHeader.alg, 'EdDSA');
      assert.deepEqual(
        { ...payload, iat: 0, exp: 0 },
        { iss: issuer, aud: AUDIENCE, ...WHO, jti, iat: 0, exp: 0 },
      );
      await assert.rejects(jwtVerify(token, jwks, { issuer, audience: 'billing' }), {
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      });
    });

    it('a verifier that cached the JWKS just before a rotation verifies every token signed after it', async (t) => {
      const test = await openTestDatabase(engine);
      t.after(() => test.cleanup());
      await migrateToLatest(test.db, MIGRATIONS);
      let at = Date.now();
      const now = () => at;
      const keys = createSigningKeys(test.db, randomBytes(32), {
        accessTtlSeconds: 900,
        publishAheadSeconds: 300,
        now,
      });
      await keys.ensureKey();
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
      let fetched = 0;
      app.addHook('onRequest', async (request) => {
        if (request.url === JWKS_PATH) fetched += 1;
      });
      await app.register(wellKnownRoutes, { keys });
      await app.listen({ host: '127.0.0.1', port });
      t.after(() => app.close());
      const tokens = createAccessTokens({ keys, issuer, audience: AUDIENCE, ttlSeconds: 900, now });
      const options = { issuer, audience: AUDIENCE, currentDate: new Date(at) };
      // jose's defaults: an unknown kid refetches the JWKS at most once per 30 s.
      const verifier = createRemoteJWKSet(new URL(`${issuer}${JWKS_PATH}`));
      await jwtVerify((await tokens.issue(WHO)).token, verifier, options);
      assert.equal(fetched, 1);
      const { kid } = await keys.rotate();
      // Right after the rotation: signed by the key the verifier knows.
      await jwtVerify((await tokens.issue(WHO)).token, verifier, options);
      // A verifier whose cache was filled any time after the rotation already holds the
      // next key when it starts signing: no refetch, no refusal.
      const later = createRemoteJWKSet(new URL(`${issuer}${JWKS_PATH}`));
      await jwtVerify((await tokens.issue(WHO)).token, later, options);
      assert.equal(fetched, 2);
      at += 300_000;
      const signedByNext = await tokens.issue(WHO);
      assert.equal(decodeProtectedHeader(signedByNext.token).kid, kid);
      await jwtVerify(signedByNext.token, later, { ...options, currentDate: new Date(at) });
      assert.equal(fetched, 2);
    });

    it('after rotation: old tokens still verify, new ones carry the new kid and verify too', async (t) => {
      const { issuer, keys, tokens } = await listening(t, engine);
      const jwks = await discover(issuer);
      const before = await tokens.issue(WHO);
      await jwtVerify(before.token, jwks, { issuer, audience: AUDIENCE });
      const { kid } = await keys.rotate();
      const after = await tokens.issue(WHO);
      assert.equal(decodeProtectedHeader(after.token).kid, kid);
      assert.notEqual(decodeProtectedHeader(before.token).kid, kid);
      for (const verifier of [jwks, await discover(issuer)]) {
        await jwtVerify(before.token, verifier, { issuer, audience: AUDIENCE });
        await jwtVerify(after.token, verifier, { issuer, audience: AUDIENCE });
      }
      // Tessera's own verifier agrees.
      assert.equal((await tokens.verify(before.token)).jti, before.jti);
      assert.equal((await tokens.verify(after.token)).jti, after.jti);
    });
  });
}
