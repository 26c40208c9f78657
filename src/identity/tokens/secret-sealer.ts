import { hkdfSync } from 'node:crypto';
import { open, seal } from './secret-box.ts';

/** What a sealer's secrets are for: its own key and its own associated data. */
export interface SealingPurpose {
  /** The HKDF info, e.g. `tessera sso client secret`: one key per purpose. */
  readonly info: string;
  /** The kind of row a secret belongs to, e.g. `sso_connection`. */
  readonly scope: string;
}

/**
 * Seals secrets Tessera must use again later (an SSO client secret, a webhook signing
 * secret) at rest with AES-256-GCM under a key derived (HKDF) from the master key, the
 * owning row's id as associated data: a database copy alone reveals no secret, and a
 * sealed secret copied onto another row does not open.
 */
export function createSecretSealer(masterKey: () => Buffer, purpose: SealingPurpose) {
  let key: Buffer | undefined;
  const sealingKey = () => {
    key ??= Buffer.from(hkdfSync('sha256', masterKey(), Buffer.alloc(0), purpose.info, 32));
    return key;
  };
  return {
    seal: (id: string, secret: string): string =>
      seal(sealingKey(), Buffer.from(secret, 'utf8'), `${purpose.scope}:${id}`),
    open: (id: string, box: string): string =>
      open(sealingKey(), box, `${purpose.scope}:${id}`).toString('utf8'),
  };
}

export type SecretSealer = ReturnType<typeof createSecretSealer>;
