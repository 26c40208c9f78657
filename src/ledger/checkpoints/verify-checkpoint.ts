import { type CryptoKey, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { CHECKPOINT_TYPE, checkpointPayload } from './checkpoint-jws.ts';

/**
 * Why a checkpoint does not hold:
 * - `unknown_key`: no key with the JWS's `kid` (never created here, or a JWKS that
 *   leaves it out);
 * - `checkpoint_signature`: not a JWS this key signed as a checkpoint (forged,
 *   altered, malformed, another `alg` or `typ`);
 * - `checkpoint_mismatch`: a genuine signature over other values than the row's
 *   columns, or over a hash the chain does not hold at that position.
 */
export type CheckpointBreak = 'unknown_key' | 'checkpoint_signature' | 'checkpoint_mismatch';

export type CheckpointVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: CheckpointBreak; readonly detail: string };

/** Public keys by kid, each imported once: the server's signing keys, or a JWKS an auditor trusts. */
export interface CheckpointKeyring {
  key(kid: string): Promise<CryptoKey | undefined>;
}

/** A keyring over a lookup of public JWKs (retired keys included: `allPublicKeys`). */
export function checkpointKeyring(
  find: (kid: string) => Promise<JWK | undefined> | JWK | undefined,
): CheckpointKeyring {
  const imported = new Map<string, Promise<CryptoKey | undefined>>();
  return {
    key(kid) {
      let key = imported.get(kid);
      if (!key) {
        key = Promise.resolve(find(kid)).then(async (jwk) =>
          jwk ? ((await importJWK(jwk, 'EdDSA')) as CryptoKey) : undefined,
        );
        // An unknown kid may be created later (another node's rotation): not remembered.
        key.then(
          (found) => found ?? imported.delete(kid),
          () => imported.delete(kid),
        );
        imported.set(kid, key);
      }
      return key;
    },
  };
}

/**
 * Checks one stored checkpoint: its JWS verifies with the key its `kid` names
 * (retired keys included), its payload is exactly the row's partition, position,
 * hash and time, and, when given, `chainHashAt` (the hash the partition's chain holds
 * at the row's position: the stored `events.hash`, or one a verifier recomputed)
 * equals the row's hash. Omit `chainHashAt` when that event does not exist.
 */
export async function verifyCheckpoint(
  row: LedgerCheckpointRow,
  keys: CheckpointKeyring,
  chainHashAt?: string | null,
): Promise<CheckpointVerdict> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(row.jws).kid;
  } catch {
    return broken('checkpoint_signature', 'the JWS is malformed');
  }
  if (typeof kid !== 'string') return broken('checkpoint_signature', 'the JWS names no kid');
  if (kid !== row.kid) return broken('checkpoint_mismatch', `the JWS names key ${kid}`);
  const key = await keys.key(kid);
  if (!key) return broken('unknown_key', `no public key has kid ${kid}`);
  let signed: Uint8Array;
  try {
    const verified = await compactVerify(row.jws, key, { algorithms: ['EdDSA'] });
    if (verified.protectedHeader.typ !== CHECKPOINT_TYPE) {
      return broken('checkpoint_signature', `the JWS's typ is not ${CHECKPOINT_TYPE}`);
    }
    signed = verified.payload;
  } catch {
    return broken('checkpoint_signature', `the signature does not verify with key ${kid}`);
  }
  if (!samePayload(signed, row)) {
    return broken('checkpoint_mismatch', 'the signed payload differs from the stored checkpoint');
  }
  if (typeof chainHashAt === 'string' && chainHashAt !== row.hash) {
    return broken(
      'checkpoint_mismatch',
      `the chain's hash at position ${row.position} is not the one signed`,
    );
  }
  if (chainHashAt === null) {
    return broken('checkpoint_mismatch', `the event at position ${row.position} is not chained`);
  }
  return { ok: true };
}

function samePayload(signed: Uint8Array, row: LedgerCheckpointRow): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(signed));
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  const expected: Record<string, unknown> = { ...checkpointPayload(row) };
  const actual = parsed as Record<string, unknown>;
  const names = Object.keys(actual);
  return (
    names.length === Object.keys(expected).length &&
    names.every((name) => Object.is(actual[name], expected[name]))
  );
}

function broken(reason: CheckpointBreak, detail: string): CheckpointVerdict {
  return { ok: false, reason, detail };
}
