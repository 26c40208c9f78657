import { open, seal } from '../../tokens/secret-box.ts';

/**
 * A TOTP secret at rest: sealed with the master key (AES-256-GCM, secret-box.ts),
 * the user's id as associated data, so a sealed secret copied onto another user's
 * row does not open.
 */
const aadOf = (userId: string) => `totp:${userId}`;

export function sealTotpSecret(masterKey: Buffer, userId: string, secret: string): string {
  return seal(masterKey, Buffer.from(secret, 'utf8'), aadOf(userId));
}

export function openTotpSecret(masterKey: Buffer, userId: string, sealed: string): string {
  return open(masterKey, sealed, aadOf(userId)).toString('utf8');
}
