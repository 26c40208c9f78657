import { randomUUID, type webcrypto } from 'node:crypto';
import { errors, importJWK, type JWTHeaderParameters, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../config/schema.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { SigningKeys } from './signing-keys.ts';
import { TokenErrors } from './token-errors.ts';

/**
 * A verified access token's claims (RFC 7519 §4.1 plus Tessera's `tid`, `roles`, `sid`,
 * and OpenID Connect Core's `email_verified`).
 */
export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly tid: string;
  readonly roles: readonly string[];
  readonly sid: string;
  /** Whether the user's email address was verified when the token was issued. */
  readonly email_verified: boolean;
  /** RFC 8176 methods the session proved (issue 18); `["pwd"]` on older tokens. */
  readonly amr: readonly string[];
  /** When the user signed in (epoch seconds); `iat` on older tokens. */
  readonly auth_time: number;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  /**
   * Tokens of the OpenID Provider (issue 19, RFC 9068): the client they were issued to
   * and their scopes, which bound what they may do. A machine client's token
   * (client credentials) has no `sid`: `sub` is the client.
   */
  readonly client_id?: string;
  readonly scope?: string;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Seconds until `exp` (RFC 6749 §5.1). */
  readonly expires_in: number;
  readonly jti: string;
}

export interface AccessTokens {
  issue(claims: {
    sub: string;
    tid: string;
    roles: readonly string[];
    sid: string;
    email_verified: boolean;
    /** Default `["pwd"]`. */
    amr?: readonly string[];
    /** Epoch seconds; default: now. */
    auth_time?: number;
  }): Promise<IssuedAccessToken>;
  /** Throws a 401 TesseraError (see token-errors.ts) for anything but a valid token of ours. */
  verify(token: string): Promise<AccessClaims>;
}

export interface AccessTokenOptions {
  readonly keys: Pick<SigningKeys, 'signingKey' | 'findPublicKey' | 'findExpiredKey'>;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Epoch ms. */
  readonly now?: () => number;
  /** Most verified tokens remembered (until their `exp`); default 10,000. */
  readonly cacheSize?: number;
}

/** Explicit typing (RFC 8725 §3.11, RFC 9068 §2.1): no other JWT can pass for an access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
const MAX_TOKEN_LENGTH = 8192;
// Header and payload are required; the signature may be empty so `alg: none` gets its own code.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// `sid` and `roles` too, but for a machine client's token (accessClaims checks them).
const REQUIRED = ['iss', 'aud', 'sub', 'tid', 'jti', 'iat', 'exp'];
const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="tessera", error="invalid_token"' };

/** `auth.issuer`, or the server's own address when it is empty. */
export function issuerFor(config: Pick<Config, 'auth' | 'server'>): string {
  if (config.auth.issuer !== '') return config.auth.issuer.replace(/\/+$/, '');
  const { host, port } = config.server;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { keys, issuer, audience, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  const cache = createVerifiedCache<AccessClaims>(options.cacheSize ?? 10_000);
  // Keyed by kid, which is the key's RFC 7638 thumbprint, so an entry can never go stale.
  const imported = new Map<string, Promise<webcrypto.CryptoKey>>();

  /**
   * Only our own keys, looked up by kid: `jku`, `jwk` and `x5u` headers are never
   * followed. A key retired longer ago than any token lives still verifies, so that
   * a token it really signed is refused as `token_expired` (its client refreshes)
   * rather than as a forgery; `expiredKey` then makes sure nothing it signed is
   * accepted, whatever its `exp` says.
   */
  async function verificationKey(
    header: JWTHeaderParameters,
    expiredKey: { used: boolean },
  ): Promise<webcrypto.CryptoKey> {
    if (typeof header.kid !== 'string')
      throw refuse('token_malformed', 'The token names no key (kid).');
    let jwk = await keys.findPublicKey(header.kid);
    if (!jwk) {
      jwk = await keys.findExpiredKey(header.kid);
      expiredKey.used = jwk !== undefined;
    }
    if (!jwk) {
      throw refuse(
        'token_signature_invalid',
        'The token is signed by a key Tessera does not know.',
      );
    }
    let key = imported.get(jwk.kid);
    if (!key) {
      key = importJWK(jwk, 'EdDSA') as Promise<webcrypto.CryptoKey>;
      imported.set(jwk.kid, key);
    }
    return key;
  }

  return {
    async issue({ sub, tid, roles, sid, email_verified, amr, auth_time }) {
      const { kid, privateKey } = await keys.signingKey();
      const iat = Math.floor(now() / 1000);
      const jti = randomUUID();
      const token = await new SignJWT({
        tid,
        roles: [...roles],
        sid,
        email_verified,
        amr: [...(amr ?? ['pwd'])],
        auth_time: auth_time ?? iat,
      })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(sub)
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(privateKey);
      return { token, expires_in: ttlSeconds, jti };
    },

    async verify(token) {
      const at = now();
      // Only well-formed tokens are ever cached, so a hit needs no further checks.
      const hit = cache.get(token, at);
      if (hit) return hit;
      if (
        typeof token !== 'string' ||
        token.length > MAX_TOKEN_LENGTH ||
        !COMPACT_JWS.test(token)
      ) {
        throw refuse(
          'token_malformed',
          'The access token is not a compact JWS (header.payload.signature).',
        );
      }
      let payload: Record<string, unknown>;
      const expiredKey = { used: false };
      try {
        ({ payload } = await jwtVerify(token, (header) => verificationKey(header, expiredKey), {
          algorithms: ['EdDSA'],
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: REQUIRED,
          currentDate: new Date(at),
          // RFC 7519 §4.1.4: not accepted on or after `exp`. No leeway: our own nodes issue these.
          clockTolerance: 0,
        }));
      } catch (error) {
        throw refusal(error);
      }
      // jose checks the signature before `exp`: an expired key's token that got here
      // is genuine but claims to live on past every token's lifetime. Never accepted.
      if (expiredKey.used) {
        throw refuse(
          'token_signature_invalid',
          'The token is signed by a key retired longer ago than any token lives.',
        );
      }
      const claims = accessClaims(payload);
      cache.set(token, claims, claims.exp * 1000);
      return claims;
    },
  };
}

function accessClaims(payload: Record<string, unknown>): AccessClaims {
  const { iss, aud, sub, tid, jti, iat, exp, client_id, scope } = payload;
  // A machine client's token (client credentials) acts for no session: `sid` is empty
  // and the guard looks the client up instead. Every other token names its session.
  const machine = typeof client_id === 'string' && client_id !== '' && payload.sid === undefined;
  const sid = machine ? '' : payload.sid;
  const roles = payload.roles ?? (machine ? [] : undefined);
  // Not in REQUIRED: a token signed before the claim existed (a node of the previous
  // version, during a rolling upgrade) reads as unverified until it is refreshed.
  const emailVerified = payload.email_verified ?? false;
  // Likewise (issue 18): a token from before `amr` existed was a password sign-in.
  const amr = payload.amr ?? ['pwd'];
  const authTime = payload.auth_time ?? iat;
  const text = (value: unknown): value is string => typeof value === 'string' && value !== '';
  const roleList = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((role) => typeof role === 'string');
  const time = (value: unknown): value is number => Number.isSafeInteger(value);
  if (
    !text(iss) ||
    !text(aud) ||
    !text(sub) ||
    !text(tid) ||
    (!machine && !text(sid)) ||
    !text(jti) ||
    (client_id !== undefined && !text(client_id)) ||
    (scope !== undefined && typeof scope !== 'string') ||
    !roleList(roles) ||
    !time(iat) ||
    !time(exp) ||
    typeof emailVerified !== 'boolean' ||
    !roleList(amr) ||
    !time(authTime)
  ) {
    throw refuse('token_malformed', 'The access token lacks a claim or has one of the wrong type.');
  }
  return Object.freeze({
    iss,
    aud,
    sub,
    tid,
    roles: Object.freeze([...roles]),
    sid: machine ? '' : (sid as string),
    email_verified: emailVerified,
    amr: Object.freeze([...amr]),
    auth_time: authTime,
    jti,
    iat,
    exp,
    ...(typeof client_id === 'string' ? { client_id } : {}),
    ...(typeof scope === 'string' ? { scope } : {}),
  });
}

/** jose's error classes, mapped to our codes; anything else is a bug, not a bad token. */
function refusal(error: unknown): unknown {
  if (error instanceof TesseraError) return error;
  if (error instanceof errors.JOSEAlgNotAllowed) {
    // RFC 8725 §3.1/§3.2: `none`, HMAC (key confusion with the public key) and the rest.
    return refuse(
      'token_algorithm_rejected',
      'Access tokens are signed with EdDSA; this one names another algorithm.',
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return refuse('token_signature_invalid', 'The access token signature does not verify.');
  }
  if (error instanceof errors.JWTExpired)
    return refuse('token_expired', 'The access token has expired: refresh it.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss')
      return refuse('token_issuer_invalid', 'The access token was issued by someone else.');
    if (error.claim === 'aud')
      return refuse('token_audience_invalid', 'The access token is meant for another audience.');
    return refuse('token_malformed', `The access token is invalid: ${error.message}.`);
  }
  if (error instanceof errors.JOSEError)
    return refuse('token_malformed', `The access token is invalid: ${error.message}.`);
  return error;
}

function refuse(code: keyof typeof TokenErrors, detail: string): TesseraError {
  return new TesseraError(TokenErrors[code], detail, { headers: WWW_AUTHENTICATE });
}

/**
 * Verified tokens until their `exp`: EdDSA verification costs ~100x a lookup, and a
 * client sends the same token on every request. Approximately LRU in two generations
 * (as in hashlru): hits in the old one move to the young one, and when the young one
 * is full it becomes the old one, dropping what was not used for a whole generation.
 * Not `Map` delete-and-reinsert: V8 keeps deleted entries in the bucket chain until
 * a rehash, so one hot token re-inserted over and over made hits cost ~40 µs at 20K
 * entries. Only successes are kept.
 */
function createVerifiedCache<T>(capacity: number) {
  type Entry = { readonly value: T; readonly expiresAt: number };
  const generationSize = Math.max(1, Math.floor(capacity / 2));
  let young = new Map<string, Entry>();
  let old = new Map<string, Entry>();
  const put = (key: string, entry: Entry) => {
    young.set(key, entry);
    if (young.size >= generationSize) {
      old = young;
      young = new Map();
    }
  };
  return {
    get(key: string, at: number): T | undefined {
      let entry = young.get(key);
      if (!entry) {
        entry = old.get(key);
        if (!entry) return undefined;
        old.delete(key);
        if (entry.expiresAt > at) put(key, entry);
      }
      return entry.expiresAt > at ? entry.value : undefined;
    },
    set(key: string, value: T, expiresAt: number): void {
      put(key, { value, expiresAt });
    },
  };
}
