import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { testEngines, testStorageConfig } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';
import {
  createSigningKeys,
  RELOAD_INTERVAL_MS,
  RETIRED_KEY_MARGIN_MS,
  type SigningKeys,
} from './signing-keys.ts';

const TTL_SECONDS = 900;
const T0 = Date.UTC(2025, 0, 1);

interface Row {
  kid: string;
  private_key_encrypted: string;
  created_ms: number;
  retired_ms: number | null;
}

/** Two handles on one fresh database: two Tessera nodes sharing it. */
async function twoNodes(t: TestContext, engine: Engine): Promise<[Database, Database]> {
  const target = await testStorageConfig(engine);
  const a = await openDatabase(target.storage);
  const b = await openDatabase(target.storage);
  t.after(async () => {
    await a.close();
    await b.close();
    await target.cleanup();
  });
  await migrateToLatest(a, MIGRATIONS);
  return [a, b];
}

function clock(start = T0) {
  let at = start;
  return {
    now: () => at,
    advance: (ms: number) => {
      at += ms;
    },
  };
}

const rows = (db: Database) =>
  (db.kysely as Kysely<{ signing_keys: Row }>)
    .selectFrom('signing_keys')
    .select(['kid', 'private_key_encrypted', 'retired_ms'])
    .orderBy('created_ms')
    .execute();

async function signAndCheck(keys: SigningKeys): Promise<string> {
  const { kid, privateKey } = await keys.signingKey();
  const token = await new SignJWT({ ok: true })
    .setProtectedHeader({ alg: 'EdDSA', kid })
    .sign(privateKey);
  const jwk = await keys.findPublicKey(kid);
  assert.ok(jwk, `kid ${kid} is published`);
  const { payload } = await jwtVerify(token, await importJWK(jwk, 'EdDSA'));
  assert.equal(payload.ok, true);
  return kid;
}

for (const engine of testEngines()) {
  describe(`signing keys (${engine})`, () => {
    it('creates one Ed25519 key on first start, encrypted, and publishes its JWK', async (t) => {
      const [db] = await twoNodes(t, engine);
      const keys = createSigningKeys(db, randomBytes(32), { accessTtlSeconds: TTL_SECONDS });
      const first = await keys.ensureKey();
      assert.equal(first.created, true);
      assert.deepEqual(await keys.ensureKey(), { kid: first.kid, created: false });
      const [jwk, ...others] = await keys.publicKeys();
      assert.equal(others.length, 0);
      assert.deepEqual(Object.keys(jwk ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      assert.deepEqual(
        { ...jwk, x: undefined },
        { kty: 'OKP', crv: 'Ed25519', x: undefined, kid: first.kid, alg: 'EdDSA', use: 'sig' },
      );
      assert.equal(
        first.kid,
        await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk?.x }),
      );
      const [row] = await rows(db);
      assert.match(row?.private_key_encrypted ?? '', /^v1\./);
      assert.equal(await signAndCheck(keys), first.kid);
      assert.equal((await keys.signingKey()).privateKey.extractable, false);
    });

    it('nodes starting together end up with one key', async (t) => {
      const [a, b] = await twoNodes(t, engine);
      const master = randomBytes(32);
      const nodes = [a, b, a, b].map((db) =>
        createSigningKeys(db, master, { accessTtlSeconds: TTL_SECONDS }),
      );
      const results = await Promise.all(nodes.map((node) => node.ensureKey()));
      assert.equal(new Set(results.map((result) => result.kid)).size, 1);
      assert.equal(results.filter((result) => result.created).length, 1);
      assert.equal((await rows(a)).length, 1);
    });

    it('signingKey() creates the first key itself when start-up did not', async (t) => {
      const [db] = await twoNodes(t, engine);
      const keys = createSigningKeys(db, randomBytes(32), { accessTtlSeconds: TTL_SECONDS });
      await signAndCheck(keys);
      assert.equal((await rows(db)).length, 1);
    });

    it('hands the OpenID Provider every published key, the signing one first, private parts that match', async (t) => {
      const [db] = await twoNodes(t, engine);
      const time = clock();
      const keys = createSigningKeys(db, randomBytes(32), {
        accessTtlSeconds: TTL_SECONDS,
        now: time.now,
      });
      const first = await keys.providerJwks();
      const { kid: old } = await keys.signingKey();
      assert.deepEqual(
        first.keys.map((jwk) => jwk.kid),
        [old],
      );
      // The private part signs what the published public part verifies.
      const jwk = first.keys[0];
      assert.ok(jwk);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, 'EdDSA'));
      await jwtVerify(token, await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA'));
      assert.equal(
        (await keys.providerJwks()).version,
        first.version,
        'unchanged set, same version',
      );
      time.advance(1000);
      const { kid } = await keys.rotate();
      const rotated = await keys.providerJwks();
      assert.notEqual(rotated.version, first.version);
      assert.deepEqual(
        rotated.keys.map((key) => key.kid),
        [kid, old],
      );
    });

    it('rotation: the new key signs; the old one verifies until its tokens have expired', async (t) => {
      const [db] = await twoNodes(t, engine);
      const time = clock();
      const keys = createSigningKeys(db, randomBytes(32), {
        accessTtlSeconds: TTL_SECONDS,
        now: time.now,
      });
      const old = await signAndCheck(keys);
      time.advance(1000);
      const { kid } = await keys.rotate();
      assert.notEqual(kid, old);
      assert.equal(await signAndCheck(keys), kid);
      assert.deepEqual(
        (await rows(db)).map((row) => [row.kid, row.retired_ms]),
        [
          [old, T0 + 1000],
          [kid, null],
        ],
      );
      assert.deepEqual(
        (await keys.publicKeys()).map((jwk) => jwk.kid),
        [kid, old],
      );
      time.advance(TTL_SECONDS * 1000 + RETIRED_KEY_MARGIN_MS - 1);
      assert.ok(await keys.findPublicKey(old), 'still within the token lifetime and margin');
      time.advance(1);
      assert.deepEqual(
        (await keys.publicKeys()).map((jwk) => jwk.kid),
        [kid],
      );
      assert.equal(await keys.findPublicKey(old), undefined);
      assert.equal(await keys.findPublicKey('no-such-kid'), undefined);
    });

    it('rotation with publish-ahead: the new key is published at once and signs only later', async (t) => {
      const [db] = await twoNodes(t, engine);
      const time = clock();
      const keys = createSigningKeys(db, randomBytes(32), {
        accessTtlSeconds: TTL_SECONDS,
        publishAheadSeconds: 300,
        now: time.now,
      });
      const old = await signAndCheck(keys);
      time.advance(1000);
      const published = async () => (await keys.publicKeys()).map((jwk) => jwk.kid);
      const states = async () => (await keys.list()).map((key) => [key.kid, key.state]);
      const next = await keys.rotate();
      assert.equal(next.signs_from_ms, T0 + 301_000);
      assert.deepEqual(await published(), [next.kid, old]);
      assert.equal(
        await signAndCheck(keys),
        old,
        'the old key signs while the new one is announced',
      );
      assert.deepEqual(await states(), [
        [next.kid, 'next'],
        [old, 'signing'],
      ]);
      // Rotating again meanwhile: each key still signs in turn, each published ahead.
      time.advance(100_000);
      const third = await keys.rotate();
      assert.deepEqual(await published(), [third.kid, next.kid, old]);
      time.advance(199_999);
      assert.equal(await signAndCheck(keys), old);
      time.advance(1);
      assert.equal(await signAndCheck(keys), next.kid);
      assert.deepEqual(await states(), [
        [third.kid, 'next'],
        [next.kid, 'signing'],
        [old, 'verifying'],
      ]);
      time.advance(100_000);
      assert.equal(await signAndCheck(keys), third.kid);
    });

    it("another node's rotation: seen within the reload interval, or at once for an unknown kid", async (t) => {
      const [a, b] = await twoNodes(t, engine);
      const master = randomBytes(32);
      const time = clock();
      const nodeA = createSigningKeys(a, master, { accessTtlSeconds: TTL_SECONDS, now: time.now });
      const nodeB = createSigningKeys(b, master, { accessTtlSeconds: TTL_SECONDS, now: time.now });
      const old = await signAndCheck(nodeA);
      const { kid } = await nodeB.rotate();
      assert.equal((await nodeA.signingKey()).kid, old, 'cached until the reload interval passes');
      time.advance(RELOAD_INTERVAL_MS);
      assert.equal((await nodeA.signingKey()).kid, kid);
      const newer = await nodeB.rotate();
      assert.ok(await nodeA.findPublicKey(newer.kid), 'an unknown kid reloads the keys at once');
      assert.equal((await nodeA.signingKey()).kid, newer.kid, 'and the reload serves signing too');
    });

    it('another master key cannot open the keys, and rotation then writes nothing', async (t) => {
      const [db] = await twoNodes(t, engine);
      await createSigningKeys(db, randomBytes(32), { accessTtlSeconds: TTL_SECONDS }).ensureKey();
      const wrong = createSigningKeys(db, randomBytes(32), { accessTtlSeconds: TTL_SECONDS });
      const message = /cannot be decrypted with this master key/;
      await assert.rejects(wrong.ensureKey(), message);
      await assert.rejects(wrong.signingKey(), message);
      await assert.rejects(wrong.rotate(), message);
      assert.equal((await rows(db)).length, 1);
      assert.equal((await wrong.publicKeys()).length, 1, 'public keys need no master key');
    });
  });
}
