import { createPrivateKey, type webcrypto } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Database } from '../../storage/open-database.ts';
import type { SigningKeyRow, Tables } from '../../storage/tables.ts';
import { decrypt, insertKey, publishable } from './signing-key-rows.ts';

/** A public signing key as published in the JWKS (RFC 7517 §4, RFC 8037 §2). */
export interface PublicSigningJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

export interface ActiveSigningKey {
  readonly kid: string;
  /** Non-extractable: usable for signing, never exported again. */
  readonly privateKey: webcrypto.CryptoKey;
}

export interface SigningKeysOptions {
  /** The longest access token lifetime: a retired key verifies this long after retiring. */
  readonly accessTtlSeconds: number;
  /**
   * How long a rotation's new key is published before it signs (`auth.key_publish_ahead_seconds`):
   * verifiers caching the JWKS learn it before they meet a token it signed. Default 0.
   */
  readonly publishAheadSeconds?: number;
  /** Epoch ms; also paces the reloads. */
  readonly now?: () => number;
}

export interface SigningKeys {
  /** Creates the first key unless an unretired one exists; fails when the master key cannot open it. */
  ensureKey(): Promise<{ kid: string; created: boolean }>;
  /**
   * A new key, published at once, signs from `signs_from_ms` (now + the publish-ahead
   * time); the previous key signs until then, then retires but keeps verifying its
   * tokens. `inTransaction` runs last in the rotation's transaction (its audit event).
   */
  rotate(
    inTransaction?: (trx: AnyKysely, kid: string) => Promise<void>,
  ): Promise<{ kid: string; signs_from_ms: number }>;
  /** Every key, newest first, with when it was created and retired: no key material. */
  list(): Promise<SigningKeySummary[]>;
  /** The oldest key not retired yet (see `rotate`), decrypted once and kept in memory. */
  signingKey(): Promise<ActiveSigningKey>;
  /**
   * Every key a live token may be signed with: unretired (the next key too), or
   * retired within the grace period.
   */
  publicKeys(): Promise<PublicSigningJwk[]>;
  /** One of `publicKeys()`; an unknown kid reloads from the database (at most once a second). */
  findPublicKey(kid: string): Promise<PublicSigningJwk | undefined>;
  /**
   * A key retired longer ago than any token it signed can live (never published
   * again): a token it signs can only be expired, and saying so (`token_expired`,
   * not a bad signature) tells its client to refresh. No reload of its own.
   */
  findExpiredKey(kid: string): Promise<PublicSigningJwk | undefined>;
  /**
   * Every key ever created, newest first, retired and expired ones included: what
   * verifies a ledger checkpoint, which outlives any token (docs/ledger.md, "Signed checkpoints").
   * Rows of `signing_keys` are never deleted (`rotate` only sets `retired_ms`, no
   * other code writes the table; a restore puts back the backup's keys with the
   * backup's checkpoints), so a key that signed a checkpoint stays here.
   */
  allPublicKeys(): Promise<PublicSigningJwk[]>;
  /** One of `allPublicKeys()`; an unknown kid reloads like `findPublicKey`. */
  findAnyPublicKey(kid: string): Promise<PublicSigningJwk | undefined>;
  /**
   * The private JWKs of every published key, the signing one first, for the OpenID
   * Provider (oidc-provider takes its keys as JWKs; it signs with the first and verifies
   * `id_token_hint`s with any). `version` changes exactly when the set does.
   */
  providerJwks(): Promise<{
    readonly version: string;
    readonly keys: readonly PrivateSigningJwk[];
  }>;
}

/** A signing key with its private part (RFC 8037 §2 `d`): only ever held in memory. */
export interface PrivateSigningJwk extends PublicSigningJwk {
  readonly d: string;
}

export interface SigningKeySummary {
  readonly kid: string;
  readonly algorithm: string;
  readonly created_ms: number;
  readonly retired_ms: number | null;
  /**
   * `next`: published, signs once the current key retires; `signing`: signs new
   * tokens; `verifying`: retired, its tokens may still be live; `expired`: no live
   * token can carry it.
   */
  readonly state: 'next' | 'signing' | 'verifying' | 'expired';
}

/** Another node's rotation is seen within this long. */
export const RELOAD_INTERVAL_MS = 5_000;
const FORCED_RELOAD_INTERVAL_MS = 1_000;
/**
 * Beyond the token lifetime, a retired key stays published for the reload interval
 * (a node may sign with it until it notices the rotation) plus clock skew between nodes.
 */
export const RETIRED_KEY_MARGIN_MS = 60_000;

type SigningKeyTables = Pick<Tables, 'signing_keys'>;

interface LoadedKey {
  readonly jwk: PublicSigningJwk;
  readonly retired_ms: number | null;
}

export function createSigningKeys(
  db: Database,
  /** The key itself, or how to load it when first needed (see composition-root.ts). */
  masterKeyOrLoader: Buffer | (() => Buffer),
  options: SigningKeysOptions,
): SigningKeys {
  const masterKey = (): Buffer =>
    typeof masterKeyOrLoader === 'function' ? masterKeyOrLoader() : masterKeyOrLoader;
  const now = options.now ?? Date.now;
  const kysely: Kysely<SigningKeyTables> = db.kysely;
  const graceMs = options.accessTtlSeconds * 1000 + RETIRED_KEY_MARGIN_MS;
  const aheadMs = (options.publishAheadSeconds ?? 0) * 1000;
  const live = (key: { retired_ms: number | null }, at: number) =>
    key.retired_ms === null || key.retired_ms > at - graceMs;
  const unretired = (key: { retired_ms: number | null }, at: number) =>
    key.retired_ms === null || key.retired_ms > at;
  /**
   * The key not retired at `at` that retires first signs (see `rotate`): the one a
   * rotation gave an end, else the one with none. Creation times may tie; these do not.
   */
  const signerOf = <K extends { retired_ms: number | null }>(keys: readonly K[], at: number) =>
    keys
      .filter((key) => unretired(key, at))
      .reduce<K | undefined>(
        (first, key) =>
          first === undefined ||
          (key.retired_ms !== null &&
            (first.retired_ms === null || key.retired_ms < first.retired_ms))
            ? key
            : first,
        undefined,
      );
  let cache: { loadedAt: number; keys: LoadedKey[] } | undefined;
  let loading: Promise<LoadedKey[]> | undefined;
  let lastForcedAt = Number.NEGATIVE_INFINITY;
  let active: { kid: string; key: Promise<ActiveSigningKey> } | undefined;

  // Every key, expired ones too (see `findExpiredKey`): rotations are rare, keys few.
  async function load(): Promise<LoadedKey[]> {
    const rows = await kysely
      .selectFrom('signing_keys')
      .select(['kid', 'public_jwk', 'retired_ms'])
      .orderBy('created_ms', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    return rows.map((row) => ({
      jwk: publishable(row.kid, row.public_jwk),
      retired_ms: row.retired_ms,
    }));
  }

  function keys(force = false): Promise<LoadedKey[]> {
    const at = now();
    if (!force && cache && elapsed(cache.loadedAt, at) < RELOAD_INTERVAL_MS) {
      return Promise.resolve(cache.keys);
    }
    if (loading) return loading;
    const current = load().then((loaded) => {
      // A load that began before this process changed the keys must not be kept.
      if (loading === current) cache = { loadedAt: at, keys: loaded };
      return loaded;
    });
    loading = current;
    const done = () => {
      if (loading === current) loading = undefined;
    };
    current.then(done, done);
    return current;
  }

  /** After a write here: the next read goes to the database. */
  function forget(): void {
    cache = undefined;
    loading = undefined;
  }

  async function importPrivateKey(kid: string): Promise<ActiveSigningKey> {
    const row = await kysely
      .selectFrom('signing_keys')
      .select('private_key_encrypted')
      .where('kid', '=', kid)
      .executeTakeFirstOrThrow();
    const pkcs8 = decrypt(masterKey(), kid, row.private_key_encrypted);
    try {
      const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, 'Ed25519', false, ['sign']);
      return { kid, privateKey };
    } finally {
      pkcs8.fill(0);
    }
  }

  async function exportPrivateJwk(jwk: PublicSigningJwk): Promise<PrivateSigningJwk> {
    const row = await kysely
      .selectFrom('signing_keys')
      .select('private_key_encrypted')
      .where('kid', '=', jwk.kid)
      .executeTakeFirstOrThrow();
    const pkcs8 = decrypt(masterKey(), jwk.kid, row.private_key_encrypted);
    try {
      const { d } = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
        format: 'jwk',
      });
      if (typeof d !== 'string') throw new Error(`signing key ${jwk.kid} exported without "d"`);
      return Object.freeze({ ...jwk, d });
    } finally {
      pkcs8.fill(0);
    }
  }
  let exported: { version: string; keys: Promise<PrivateSigningJwk[]> } | undefined;

  async function findLoaded(kid: string): Promise<LoadedKey | undefined> {
    let found = (await keys()).find((key) => key.jwk.kid === kid);
    // Another node may have just rotated; the pacing keeps made-up kids from flooding the database.
    if (!found && elapsed(lastForcedAt, now()) >= FORCED_RELOAD_INTERVAL_MS) {
      lastForcedAt = now();
      found = (await keys(true)).find((key) => key.jwk.kid === kid);
    }
    return found;
  }

  async function newestUnretired(trx: AnyKysely): Promise<SigningKeyRow | undefined> {
    const table: Kysely<SigningKeyTables> = trx;
    return table
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_ms', 'is', null)
      .orderBy('created_ms', 'desc')
      .orderBy('kid', 'desc')
      .executeTakeFirst();
  }

  // Under the deployment-wide lock, so nodes starting or rotating together stay serial.
  const ensureKey = async () => {
    const result = await db.exclusive(async (trx) => {
      const existing = await newestUnretired(trx);
      if (existing) {
        decrypt(masterKey(), existing.kid, existing.private_key_encrypted).fill(0);
        return { kid: existing.kid, created: false };
      }
      return { kid: await insertKey(trx, masterKey(), now()), created: true };
    });
    forget();
    return result;
  };

  const api: SigningKeys = {
    ensureKey,
    async rotate(inTransaction) {
      const rotated = await db.exclusive(async (trx) => {
        const previous = await newestUnretired(trx);
        // Refuse before writing: a key sealed with the wrong master key would stop every node signing.
        if (previous) decrypt(masterKey(), previous.kid, previous.private_key_encrypted).fill(0);
        const at = now();
        const created = await insertKey(trx, masterKey(), at);
        // The key signing now (or the next one, after a rotation moments ago) signs
        // until the new one has been published for `aheadMs`: the oldest key not
        // retired signs, so each key signs in turn, each published ahead.
        await trx
          .updateTable('signing_keys')
          .set({ retired_ms: at + aheadMs })
          .where('retired_ms', 'is', null)
          .where('kid', '!=', created)
          .execute();
        await inTransaction?.(trx, created);
        return { kid: created, signs_from_ms: at + aheadMs };
      });
      forget();
      return rotated;
    },
    async list() {
      const at = now();
      const rows = await kysely
        .selectFrom('signing_keys')
        .select(['kid', 'algorithm', 'created_ms', 'retired_ms'])
        .orderBy('created_ms', 'desc')
        .orderBy('kid', 'desc')
        .execute();
      const signer = signerOf(rows, at);
      return rows.map((row) => ({
        ...row,
        state:
          row === signer
            ? 'signing'
            : unretired(row, at)
              ? 'next'
              : live(row, at)
                ? 'verifying'
                : 'expired',
      }));
    },
    async signingKey() {
      let newest = signerOf(await keys(), now());
      if (!newest) {
        await ensureKey();
        newest = signerOf(await keys(true), now());
        if (!newest) throw new Error('no unretired signing key after ensureKey()');
      }
      if (active?.kid !== newest.jwk.kid) {
        const kid = newest.jwk.kid;
        const key = importPrivateKey(kid);
        active = { kid, key };
        // Forget a failed import so the next call tries again rather than caching the failure.
        key.catch(() => {
          if (active?.key === key) active = undefined;
        });
        return key;
      }
      return active.key;
    },
    async publicKeys() {
      const at = now();
      return (await keys()).filter((key) => live(key, at)).map((key) => key.jwk);
    },
    async findPublicKey(kid) {
      const found = await findLoaded(kid);
      return found && live(found, now()) ? found.jwk : undefined;
    },
    async findExpiredKey(kid) {
      const found = (await keys()).find((key) => key.jwk.kid === kid);
      return found && !live(found, now()) ? found.jwk : undefined;
    },
    async allPublicKeys() {
      return (await keys()).map((key) => key.jwk);
    },
    async findAnyPublicKey(kid) {
      return (await findLoaded(kid))?.jwk;
    },
    async providerJwks() {
      const { kid: signer } = await api.signingKey();
      const published = await api.publicKeys();
      const ordered = [
        ...published.filter((jwk) => jwk.kid === signer),
        ...published.filter((jwk) => jwk.kid !== signer),
      ];
      const version = ordered.map((jwk) => jwk.kid).join(',');
      if (exported?.version !== version) {
        const loading = Promise.all(ordered.map(exportPrivateJwk));
        exported = { version, keys: loading };
        loading.catch(() => {
          if (exported?.keys === loading) exported = undefined;
        });
      }
      return { version, keys: await exported.keys };
    },
  };
  return api;
}

/** A clock that went backwards counts as "long ago", so a reload is never postponed. */
function elapsed(since: number, at: number): number {
  return at < since ? Number.POSITIVE_INFINITY : at - since;
}
