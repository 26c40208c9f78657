import { createHash, randomBytes, randomUUID } from 'node:crypto';

/**
 * Opaque bearer secrets: a readable prefix (so leaked ones are recognisable by
 * secret scanners and by humans) and 256 random bits. Only the SHA-256 digest is
 * stored: a database leak yields nothing that authenticates. A fast hash is right
 * here, unlike for passwords, because the secret itself has full entropy.
 */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function digestSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export const newId = (): string => randomUUID();
