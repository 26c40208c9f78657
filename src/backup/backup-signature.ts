import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../platform/errors.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest, SignatureInfo } from './manifest.ts';

/**
 * Backup authentication: an HMAC-SHA256 (RFC 2104) of the manifest's exact bytes,
 * stored next to it as `manifest.json.hmac`. The manifest carries every part's
 * SHA-256, so the MAC covers every row. The checksums alone only find damage: anyone
 * who can edit the file can recompute them (and once did, to sign in with a forged
 * platform administrator's password). The key is never inside the backup: either
 * `backup.signing_key`, or derived (HKDF-SHA256, RFC 5869) from the deployment's
 * master key, which lives in TESSERA_MASTER_KEY or <data_dir>/master.key, not in the
 * database a backup holds.
 */
export const SIGNATURE_NAME = 'manifest.json.hmac';
const KEY_BYTES = 32;
const MASTER_KEY_INFO = 'tessera backup signing v1';

export interface SigningKey {
  readonly key: Buffer;
  /** Names the key without revealing it, so a wrong key is told apart from a forgery. */
  readonly id: string;
  /** Where it comes from, so an error says which key to configure. */
  readonly source: SignatureInfo['key_source'];
}

/** The configured `backup.signing_key` as bytes, or undefined when empty. */
export function parseSigningKey(text: string): Buffer | undefined {
  if (text === '') return undefined;
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) throw new Error('backup.signing_key must be 32 bytes in base64');
  return key;
}

/**
 * The key backups are signed and checked with: `backup.signing_key` when set, else
 * one derived from the master key; undefined when neither is at hand.
 */
export function backupSigningKey(
  configured: string,
  masterKey: Buffer | undefined,
): SigningKey | undefined {
  const explicit = parseSigningKey(configured);
  if (explicit) return signingKey(explicit, 'signing_key');
  if (!masterKey) return undefined;
  const derived = hkdfSync('sha256', masterKey, Buffer.alloc(0), MASTER_KEY_INFO, KEY_BYTES);
  return signingKey(Buffer.from(derived), 'master_key');
}

export function signingKey(key: Buffer, source: SigningKey['source']): SigningKey {
  const id = createHmac('sha256', key).update('tessera backup signing key id').digest('hex');
  return { key, id: id.slice(0, 16), source };
}

export function signatureInfo(key: SigningKey): SignatureInfo {
  return { algorithm: 'HMAC-SHA256', key_id: key.id, key_source: key.source };
}

/** The MAC of the manifest's bytes, in the form stored (lower-case hex and a newline). */
export function signManifest(key: SigningKey, manifestBytes: Buffer): Buffer {
  return Buffer.from(`${mac(key, manifestBytes).toString('hex')}\n`, 'ascii');
}

function mac(key: SigningKey, bytes: Buffer): Buffer {
  return createHmac('sha256', key.key).update(bytes).digest();
}

/**
 * How a backup's origin was established: `signed` (its MAC checks under the
 * configured key), or accepted on the operator's word (`allowUnsigned`): `unsigned`
 * (no signature: made before backups were signed, or stripped) or `unchecked` (signed
 * with a key that is not at hand).
 */
export type Authenticity = 'signed' | 'unsigned' | 'unchecked';

export interface SignedBackup {
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  /** The MAC stored with a signed backup; undefined for an unsigned one. */
  readonly signature: Buffer | undefined;
}

export interface SignatureCheck {
  /** backup.signing_key, or the one derived from the master key; undefined without either. */
  readonly signingKey: SigningKey | undefined;
  /** Accept a backup whose origin cannot be established (never one that fails its MAC). */
  readonly allowUnsigned?: boolean | undefined;
}

/**
 * What the configured key says of a backup's signature: `valid`, `invalid` (the MAC
 * fails: changed after it was made), `unsigned`, or `unknown_key` (signed with a key
 * that is not the configured one, or none is configured).
 */
export type SignatureStatus = 'valid' | 'invalid' | 'unsigned' | 'unknown_key';

export function signatureStatus(
  backup: SignedBackup,
  key: SigningKey | undefined,
): SignatureStatus {
  const { manifest, signature } = backup;
  if (!manifest.signature || !signature) return 'unsigned';
  if (!key || key.id !== manifest.signature.key_id) return 'unknown_key';
  return timingSafeEqual(mac(key, backup.manifestBytes), signature) ? 'valid' : 'invalid';
}

/**
 * Refuses a backup whose origin is not established, before anything in it is used.
 * A MAC that fails under the key it names is refused even with `allowUnsigned`:
 * that backup was changed after it was signed.
 */
export function checkSignature(backup: SignedBackup, check: SignatureCheck): Authenticity {
  const { manifest } = backup;
  const { signingKey: key, allowUnsigned = false } = check;
  const status = signatureStatus(backup, key);
  if (status === 'valid') return 'signed';
  if (status === 'invalid') {
    throw new TesseraError(
      BackupErrors.backup_signature_invalid,
      `Backup ${manifest.id} does not match its signature: it was changed after it was made.`,
    );
  }
  if (allowUnsigned) return status === 'unsigned' ? 'unsigned' : 'unchecked';
  if (status === 'unsigned' || !manifest.signature) {
    throw new TesseraError(
      BackupErrors.backup_unsigned,
      `Backup ${manifest.id} is not signed (it was made before Tessera signed backups, or its signature was removed): anything in it may have been changed. Restore it only if you trust where the file has been, with --allow-unsigned.`,
    );
  }
  const named = manifest.signature.key_id;
  if (!key) {
    throw new TesseraError(
      BackupErrors.backup_signing_key_required,
      `Backup ${manifest.id} is signed (key id ${named}, ${keyHint(manifest.signature)}), and no key to check it is configured: set backup.signing_key (TESSERA_BACKUP_SIGNING_KEY), or the master key (TESSERA_MASTER_KEY or <data_dir>/master.key) of the deployment that made it.`,
    );
  }
  throw new TesseraError(
    BackupErrors.backup_signature_invalid,
    `Backup ${manifest.id} was signed with another key (key id ${named}, ${keyHint(manifest.signature)}; the configured key's id is ${key.id}): configure that key, or the file was forged.`,
  );
}

function keyHint(info: SignatureInfo): string {
  return info.key_source === 'signing_key'
    ? 'a backup.signing_key'
    : 'derived from the master key of the deployment that made it';
}
