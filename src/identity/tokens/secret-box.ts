import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of small secrets at rest (signing keys) with AES-256-GCM.
 * Text format, so it fits a TEXT column on both engines:
 *
 *   v1.<nonce>.<ciphertext>.<tag>      (each part base64url)
 *
 * The version prefix lets a later format (or key) coexist with rows written today.
 * A fresh random 96-bit nonce per message (NIST SP 800-38D §8.2.2): with a few
 * thousand keys ever sealed, collisions are out of reach. `aad` (the key id) is
 * authenticated but not stored, so a ciphertext copied onto another row won't open.
 */
const VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [VERSION, nonce, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** Throws when the box is malformed, was sealed with another key or `aad`, or was altered. */
export function open(key: Buffer, sealed: string, aad: string): Buffer {
  checkKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new Error(`secret box: unknown format (expected ${VERSION}.<nonce>.<ciphertext>.<tag>)`);
  }
  const [nonce, ciphertext, tag] = parts.slice(1).map(decodePart) as [Buffer, Buffer, Buffer];
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) {
    throw new Error('secret box: bad nonce or tag length');
  }
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new Error(
      'secret box: authentication failed (another master key, another key id, or altered data)',
      { cause },
    );
  }
}

function decodePart(part: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new Error('secret box: a part is not base64url');
  return Buffer.from(part, 'base64url');
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) {
    throw new Error(`secret box: the key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
}
