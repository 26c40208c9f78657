import {
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createHmac,
  type DecipherGCM,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

/**
 * Backup encryption: AES-256-GCM, each part on its own. A fresh random salt per
 * backup derives (HKDF-SHA256) a key used for that backup only, so the nonce can be
 * the part's index without ever repeating under a key. The part's name is the
 * additional data: a part moved to another place in the file fails to open. The
 * 16-byte tag follows each part's ciphertext.
 */
export const TAG_BYTES = 16;
const KEY_BYTES = 32;
const SALT_BYTES = 32;
const ALGORITHM = 'aes-256-gcm';

export interface EncryptionInfo {
  readonly algorithm: 'AES-256-GCM';
  readonly kdf: 'HKDF-SHA256';
  /** base64 */
  readonly salt: string;
  /** Names the configured key without revealing it, so a wrong key is told apart from damage. */
  readonly key_id: string;
}

/** The configured `backup.encryption_key` as bytes, or undefined when empty. */
export function parseBackupKey(text: string): Buffer | undefined {
  if (text === '') return undefined;
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) throw new Error('backup.encryption_key must be 32 bytes in base64');
  return key;
}

export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('tessera backup key id').digest('hex').slice(0, 16);
}

export function newEncryption(key: Buffer): EncryptionInfo {
  return {
    algorithm: 'AES-256-GCM',
    kdf: 'HKDF-SHA256',
    salt: randomBytes(SALT_BYTES).toString('base64'),
    key_id: keyId(key),
  };
}

function backupKey(key: Buffer, info: EncryptionInfo): Buffer {
  const salt = Buffer.from(info.salt, 'base64');
  return Buffer.from(hkdfSync('sha256', key, salt, 'tessera backup v1', KEY_BYTES));
}

function nonce(index: number): Buffer {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(index, 8);
  return bytes;
}

export function partCipher(
  key: Buffer,
  info: EncryptionInfo,
  index: number,
  part: string,
): CipherGCM {
  const cipher = createCipheriv(ALGORITHM, backupKey(key, info), nonce(index), {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(Buffer.from(part, 'utf8'));
  return cipher;
}

export function partDecipher(
  key: Buffer,
  info: EncryptionInfo,
  index: number,
  part: string,
  tag: Buffer,
): DecipherGCM {
  const decipher = createDecipheriv(ALGORITHM, backupKey(key, info), nonce(index), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(Buffer.from(part, 'utf8'));
  decipher.setAuthTag(tag);
  return decipher;
}
