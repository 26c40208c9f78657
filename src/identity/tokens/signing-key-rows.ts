import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';
import { open, seal } from './secret-box.ts';
import type { PublicSigningJwk } from './signing-keys.ts';

/** The kid is the RFC 7638 thumbprint of the public key: stable and collision-free. */
export async function insertKey(trx: AnyKysely, masterKey: Buffer, at: number): Promise<string> {
  const pair = generateKeyPairSync('ed25519');
  const { x } = pair.publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('Ed25519 public key without "x"');
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  const sealed = seal(masterKey, pkcs8, kid);
  pkcs8.fill(0);
  const table: Kysely<Pick<Tables, 'signing_keys'>> = trx;
  await table
    .insertInto('signing_keys')
    .values({
      kid,
      algorithm: 'EdDSA',
      public_jwk: JSON.stringify(publicJwk),
      private_key_encrypted: sealed,
      created_ms: at,
      retired_ms: null,
    })
    .execute();
  return kid;
}

export function decrypt(masterKey: Buffer, kid: string, sealed: string): Buffer {
  try {
    return open(masterKey, sealed, kid);
  } catch (cause) {
    throw new Error(
      `signing key ${kid} cannot be decrypted with this master key (TESSERA_MASTER_KEY or ` +
        '<data_dir>/master.key): every node must use the master key that created it',
      { cause },
    );
  }
}

export function publishable(kid: string, publicJwk: string): PublicSigningJwk {
  const { x } = JSON.parse(publicJwk) as { x: string };
  return Object.freeze({ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' });
}
