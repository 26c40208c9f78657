import { hkdfSync } from 'node:crypto';
import { open, seal } from '../../identity/tokens/secret-box.ts';

/**
 * Seals OIDC client secrets at rest with AES-256-GCM under a key derived (HKDF) from
 * the master key, the connection id as associated data: a database copy alone reveals
 * no secret, and a sealed secret copied onto another connection does not open.
 */
export function createSecretSealer(masterKey: () => Buffer) {
  let key: Buffer | undefined;
  const sealingKey = () => {
    key ??= Buffer.from(
      hkdfSync('sha256', masterKey(), Buffer.alloc(0), 'tessera sso client secret', 32),
    );
    return key;
  };
  return {
    seal: (connectionId: string, secret: string): string =>
      seal(sealingKey(), Buffer.from(secret, 'utf8'), `sso_connection:${connectionId}`),
    open: (connectionId: string, box: string): string =>
      open(sealingKey(), box, `sso_connection:${connectionId}`).toString('utf8'),
  };
}

export type SecretSealer = ReturnType<typeof createSecretSealer>;
