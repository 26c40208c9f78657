import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import {
  CompactSign,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTHeaderParameters,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { ACCESS_TOKEN_TYPE, createAccessTokens, issuerFor } from './access-token.ts';
import { createSigningKeys, RETIRED_KEY_MARGIN_MS, type SigningKeys } from './signing-keys.ts';

const ISSUER = 'https://tessera.example';
const AUDIENCE = 'tessera';
const TTL = 900;
const T0 = Date.UTC(2025, 0, 1);
const WHO = {
  sub: 'user-1',
  tid: 'acme',
  roles: ['viewer'],
  sid: 'session-1',
  email_verified: true,
  amr: ['pwd', 'otp', 'mfa'],
  auth_time: 1_735_689_000,
};

async function setup(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  let at = T0;
  const now = () => at;
  const keys = createSigningKeys(test.db, randomBytes(32), { accessTtlSeconds: TTL, now });
  await keys.ensureKey();
  const options = { keys, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL, now };
  return {
    keys,
    options,
    tokens: createAccessTokens(options),
    advance: (ms: number) => {
      at += ms;
    },
    /** Valid claims as of the current clock, for hand-made tokens. */
    claims: () => ({
      iss: ISSUER,
      aud: AUDIENCE,
      ...WHO,
      jti: 'jti-1',
      iat: Math.floor(at / 1000),
      exp: Math.floor(at / 1000) + TTL,
    }),
  };
}

/** Signs whatever header and claims a test wants, with Tessera's own current key by default. */
async function forge(
  keys: SigningKeys,
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
  key?: Parameters<SignJWT['sign']>[0],
): Promise<string> {
  const signing = await keys.signingKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: signing.kid, typ: ACCESS_TOKEN_TYPE, ...header })
    .sign(key ?? signing.privateKey);
}

function refusedWith(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof TesseraError, `a TesseraError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, 401);
    assert.match(error.headers?.['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
    return true;
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

for (const engine of testEngines()) {
  describe(`access tokens (${engine})`, () => {
    it('issues an EdDSA JWT with every claim, and verifies it', async (t) => {
      const { tokens } = await setup(t, engine);
      const issued = await tokens.issue(WHO);
      assert.equal(issued.expires_in, TTL);
      const header = decodeProtectedHeader(issued.token);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(header.typ, ACCESS_TOKEN_TYPE);
      assert.equal(typeof header.kid, 'string');
      const iat = T0 / 1000;
      const expected = { iss: ISSUER, aud: AUDIENCE, ...WHO, jti: issued.jti, iat, exp: iat + TTL };
      assert.deepEqual(decodeJwt(issued.token), expected);
      assert.deepEqual(await tokens.verify(issued.token), expected);
      assert.notEqual((await tokens.issue(WHO)).jti, issued.jti);
    });

    it('refuses alg "none" (an unsecured JWT), with or without a signature', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const unsecured = new UnsecuredJWT(claims()).encode();
      await assert.rejects(tokens.verify(unsecured), refusedWith('token_algorithm_rejected'));
      const { kid } = await keys.signingKey();
      const none = `${b64({ alg: 'none', kid, typ: ACCESS_TOKEN_TYPE })}.${b64(claims())}`;
      await assert.rejects(tokens.verify(`${none}.`), refusedWith('token_algorithm_rejected'));
      const real = (await tokens.issue(WHO)).token.split('.')[2];
      await assert.rejects(
        tokens.verify(`${none}.${real}`),
        refusedWith('token_algorithm_rejected'),
      );
    });

    it('refuses HMAC tokens keyed with the public key (algorithm confusion) and other algorithms', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const [jwk] = await keys.publicKeys();
      assert.ok(jwk);
      const publicSecrets = [
        Buffer.from(jwk.x, 'base64url'),
        Buffer.from(JSON.stringify(jwk)),
        Buffer.from(jwk.x),
      ];
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        for (const secret of publicSecrets) {
          const token = await forge(keys, claims(), { alg }, secret);
          await assert.rejects(tokens.verify(token), refusedWith('token_algorithm_rejected'), alg);
        }
      }
      for (const alg of ['RS256', 'PS256', 'ES256', 'ES512']) {
        const { privateKey } = await generateKeyPair(alg);
        const token = await forge(keys, claims(), { alg }, privateKey);
        await assert.rejects(tokens.verify(token), refusedWith('token_algorithm_rejected'), alg);
      }
      // The fully-specified name (RFC 9864) for the same algorithm is not what we issue either.
      const ed = generateKeyPairSync('ed25519').privateKey;
      const fully = await forge(keys, claims(), { alg: 'Ed25519' }, ed);
      await assert.rejects(tokens.verify(fully), refusedWith('token_algorithm_rejected'));
    });

    it('refuses a payload re-signed with another Ed25519 key under our kid', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const other = generateKeyPairSync('ed25519').privateKey;
      const token = await forge(keys, { ...claims(), roles: ['admin'] }, {}, other);
      await assert.rejects(tokens.verify(token), refusedWith('token_signature_invalid'));
    });

    it('refuses a tampered payload that keeps the original signature', async (t) => {
      const { tokens } = await setup(t, engine);
      const { token } = await tokens.issue(WHO);
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
      for (const change of [{ roles: ['admin'] }, { tid: 'globex' }, { exp: claims.exp + 3600 }]) {
        const tampered = `${header}.${b64({ ...claims, ...change })}.${signature}`;
        await assert.rejects(tokens.verify(tampered), refusedWith('token_signature_invalid'));
      }
      const flipped = `${signature?.[0] === 'A' ? 'B' : 'A'}${signature?.slice(1)}`;
      await assert.rejects(
        tokens.verify(`${header}.${payload}.${flipped}`),
        refusedWith('token_signature_invalid'),
      );
    });

    it('refuses a token at and after exp, also once it has been cached', async (t) => {
      const { tokens, options, advance } = await setup(t, engine);
      const { token } = await tokens.issue(WHO);
      await tokens.verify(token);
      advance(TTL * 1000 - 1);
      await tokens.verify(token);
      await createAccessTokens(options).verify(token);
      advance(1);
      await assert.rejects(tokens.verify(token), refusedWith('token_expired'));
      await assert.rejects(createAccessTokens(options).verify(token), refusedWith('token_expired'));
    });

    it('refuses another audience or issuer', async (t) => {
      const { tokens, options } = await setup(t, engine);
      const otherAudience = await createAccessTokens({ ...options, audience: 'billing' }).issue(
        WHO,
      );
      await assert.rejects(
        tokens.verify(otherAudience.token),
        refusedWith('token_audience_invalid'),
      );
      const otherIssuer = await createAccessTokens({
        ...options,
        issuer: 'https://evil.example',
      }).issue(WHO);
      await assert.rejects(tokens.verify(otherIssuer.token), refusedWith('token_issuer_invalid'));
    });

    it('verifies a retired key until its tokens expire, then refuses its kid', async (t) => {
      const { tokens, claims, keys, advance } = await setup(t, engine);
      const old = await keys.signingKey();
      const before = await tokens.issue(WHO);
      await keys.rotate();
      assert.notEqual((await keys.signingKey()).kid, old.kid);
      await tokens.verify(before.token);
      advance(TTL * 1000 + RETIRED_KEY_MARGIN_MS);
      // A fresh token (exp in the future) that the retired key could only sign if it leaked.
      const late = await forge(keys, claims(), { kid: old.kid }, old.privateKey);
      await assert.rejects(tokens.verify(late), refusedWith('token_signature_invalid'));
    });

    it('says token_expired for an expired token of a key retired long ago, never accepts one', async (t) => {
      const { tokens, keys, advance } = await setup(t, engine);
      const old = await keys.signingKey();
      const before = await tokens.issue(WHO);
      advance(1000);
      await keys.rotate();
      // Long past the retired key's grace: no longer published, its tokens all expired.
      advance(7 * 24 * 3600 * 1000);
      const published = (await keys.publicKeys()).map((jwk) => jwk.kid);
      assert.ok(!published.includes(old.kid));
      await assert.rejects(tokens.verify(before.token), refusedWith('token_expired'));
      // A forgery under that kid is still a bad signature, expired or not.
      const [header, , signature] = before.token.split('.');
      const changed = b64({ ...decodeJwt(before.token), roles: ['admin'] });
      await assert.rejects(
        tokens.verify(`${header}.${changed}.${signature}`),
        refusedWith('token_signature_invalid'),
      );
    });

    it('refuses unknown or missing key ids', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const unknown = await forge(keys, claims(), { kid: 'no-such-key' });
      await assert.rejects(tokens.verify(unknown), refusedWith('token_signature_invalid'));
      const none = await forge(keys, claims(), { kid: undefined });
      await assert.rejects(tokens.verify(none), refusedWith('token_malformed'));
    });

    it('refuses what is not a compact JWS, or lacks a claim, as malformed', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const { token } = await tokens.issue(WHO);
      const [header, payload, signature] = token.split('.');
      for (const bad of [
        '',
        'token',
        `${header}.${payload}`,
        `${header}.${payload}.${signature}.x.y`,
        `${header}.${payload}.${signature}=`,
        `${header}..${signature}`,
        `e30.${payload}.${signature}`,
        `bm90IGpzb24.${payload}.${signature}`,
        `${token}${'A'.repeat(9000)}`,
      ]) {
        await assert.rejects(tokens.verify(bad), refusedWith('token_malformed'), bad.slice(0, 40));
      }
      // Signed by us, but the payload is not a JSON object (RFC 7519 §7.2 step 10).
      const { kid, privateKey } = await keys.signingKey();
      for (const text of ['not json', '[1,2]', '"claims"']) {
        const raw = await new CompactSign(new TextEncoder().encode(text))
          .setProtectedHeader({ alg: 'EdDSA', kid, typ: ACCESS_TOKEN_TYPE })
          .sign(privateKey);
        await assert.rejects(tokens.verify(raw), refusedWith('token_malformed'), text);
      }
      for (const claim of ['sub', 'tid', 'roles', 'sid', 'jti', 'iat', 'exp']) {
        const { [claim]: _dropped, ...rest } = claims() as Record<string, unknown>;
        await assert.rejects(
          tokens.verify(await forge(keys, rest)),
          refusedWith('token_malformed'),
          claim,
        );
      }
      for (const change of [
        { roles: 'admin' },
        { roles: [1] },
        { sub: 7 },
        { exp: 'never' },
        { tid: '' },
        { email_verified: 'true' },
        { email_verified: 1 },
      ]) {
        const token = await forge(keys, { ...claims(), ...change });
        await assert.rejects(
          tokens.verify(token),
          refusedWith('token_malformed'),
          JSON.stringify(change),
        );
      }
      // RFC 8725 §3.11: a JWT of another type (an ID token, say) is not an access token.
      for (const typ of [undefined, 'JWT', 'id_token+jwt']) {
        const token = await forge(keys, claims(), { typ });
        await assert.rejects(tokens.verify(token), refusedWith('token_malformed'), String(typ));
      }
      await assert.rejects(
        tokens.verify(await forge(keys, { ...claims(), aud: undefined })),
        refusedWith('token_audience_invalid'),
      );
    });

    it('reads a token without email_verified (signed before the claim existed) as unverified', async (t) => {
      const { tokens, claims, keys } = await setup(t, engine);
      const { email_verified: _dropped, ...older } = claims();
      const verified = await tokens.verify(await forge(keys, older));
      assert.equal(verified.email_verified, false);
    });

    it('caches verified tokens, within a bound', async (t) => {
      const { keys, options } = await setup(t, engine);
      let lookups = 0;
      const counting = {
        signingKey: () => keys.signingKey(),
        findExpiredKey: (kid: string) => keys.findExpiredKey(kid),
        findPublicKey: (kid: string) => {
          lookups += 1;
          return keys.findPublicKey(kid);
        },
      };
      const tokens = createAccessTokens({ ...options, keys: counting, cacheSize: 4 });
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => tokens.issue(WHO)));
      const verify = async (...issued: { token: string }[]) => {
        for (const { token } of issued) await tokens.verify(token);
      };
      await verify(a!, a!, b!, a!);
      assert.equal(lookups, 2);
      await verify(c!, a!);
      assert.equal(lookups, 3, 'c evicted b, the least recently used');
      await verify(b!);
      assert.equal(lookups, 4);
      assert.equal(
        await tokens.verify(a!.token),
        await tokens.verify(a!.token),
        'the same frozen claims',
      );
      assert.ok(Object.isFrozen(await tokens.verify(a!.token)));
    });
  });
}

describe('issuerFor', () => {
  const server = { host: '127.0.0.1', port: 3900 };
  it('uses auth.issuer without a trailing slash, else the server address', () => {
    const auth = { issuer: '' };
    assert.equal(issuerFor({ auth, server } as never), 'http://127.0.0.1:3900');
    assert.equal(
      issuerFor({ auth, server: { host: '::1', port: 80 } } as never),
      'http://[::1]:80',
    );
    assert.equal(
      issuerFor({ auth: { issuer: 'https://id.example/' }, server } as never),
      'https://id.example',
    );
  });
});
