import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TesseraError } from '../platform/errors.ts';
import { keyId, partDecipher, TAG_BYTES } from './backup-key.ts';
import { SIGNATURE_NAME } from './backup-signature.ts';
import { BackupErrors } from './errors.ts';
import {
  FORMAT_VERSION,
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  type Manifest,
  type ManifestPart,
  parseManifest,
} from './manifest.ts';
import { readExactly, readTarEntries, type TarEntry } from './tar.ts';

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const BATCH_ROWS = 1000;
const READ_CHUNK = 256 * 1024;

/** A backup file opened for reading: its manifest checked against its own checksum. */
export interface OpenBackup {
  readonly path: string;
  readonly size: number;
  readonly manifest: Manifest;
  /** The manifest as stored: what the signature covers. */
  readonly manifestBytes: Buffer;
  /** The stored MAC of a signed backup (format 2); undefined for an unsigned one. */
  readonly signature: Buffer | undefined;
  /** The tar entry of each part, by part name. */
  readonly entries: ReadonlyMap<string, TarEntry>;
  /** Every part is read through this handle: the file checked is the file read. */
  readonly file: FileHandle;
  close(): Promise<void>;
}

/** A backup that is not what it claims; `part` names where. */
export class BackupDamage extends Error {
  readonly part: string;
  /** What is wrong with the part, without its name. */
  readonly detail: string;
  constructor(part: string, detail: string) {
    super(`${part}: ${detail}`);
    this.part = part;
    this.detail = detail;
  }
}

/** What `openBackup` refuses to read: a symbolic link or anything but a regular file. */
export class NotARegularFile extends Error {
  readonly code = 'ENOENT';
}

/**
 * Opens a regular file, never through a symbolic link as its last component
 * (O_NOFOLLOW), so a link planted in the backup directory (to master.key, say) is
 * never read, listed, restored or sent. Throws NotARegularFile (code ENOENT, as for a
 * missing file) otherwise.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new NotARegularFile(`${path} is a symbolic link`);
    }
    throw error;
  }
  if (!(await file.stat()).isFile()) {
    await file.close();
    throw new NotARegularFile(`${path} is not a regular file`);
  }
  return file;
}

/**
 * Reads the tar headers and the manifest. `strict` also requires every padding byte
 * to be zero (verify: no byte of the file goes unchecked). Throws BackupDamage.
 */
export async function openBackup(path: string, strict = false): Promise<OpenBackup> {
  const file = await openRegularFile(path);
  try {
    const { size } = await file.stat();
    let entries: TarEntry[];
    try {
      entries = await readTarEntries(file, size, strict);
    } catch (error) {
      throw new BackupDamage('archive', (error as Error).message);
    }
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const { manifest, manifestBytes, signature } = await readManifest(file, byName);
    const known = new Set([
      MANIFEST_NAME,
      MANIFEST_SUM_NAME,
      ...(signature ? [SIGNATURE_NAME] : []),
      ...manifest.tables.map((p) => p.part),
    ]);
    for (const entry of entries) {
      if (!known.has(entry.name)) throw new BackupDamage(entry.name, 'not in the manifest');
    }
    for (const part of manifest.tables) {
      const entry = byName.get(part.part);
      if (!entry) throw new BackupDamage(part.part, 'missing from the file');
      if (entry.size !== part.bytes) {
        throw new BackupDamage(part.part, `${entry.size} bytes, the manifest says ${part.bytes}`);
      }
    }
    return {
      path,
      size,
      manifest,
      manifestBytes,
      signature,
      entries: byName,
      file,
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

interface ReadManifest {
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  readonly signature: Buffer | undefined;
}

async function readManifest(
  file: FileHandle,
  entries: Map<string, TarEntry>,
): Promise<ReadManifest> {
  const read = async (name: string, limit: number) => {
    const entry = entries.get(name);
    if (!entry) throw new BackupDamage(name, 'missing: this is not a Tessera backup');
    if (entry.size > limit) throw new BackupDamage(name, `too large (${entry.size} bytes)`);
    const bytes = Buffer.alloc(entry.size);
    await readExactly(file, bytes, entry.offset);
    return bytes;
  };
  const bytes = await read(MANIFEST_NAME, MAX_MANIFEST_BYTES);
  const sum = (await read(MANIFEST_SUM_NAME, 1024)).toString('latin1');
  if (!/^[0-9a-f]{64}\n$/.test(sum)) {
    throw new BackupDamage(MANIFEST_SUM_NAME, 'is not one SHA-256 in lower-case hex and a newline');
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (sum.trim() !== actual) {
    throw new BackupDamage(
      MANIFEST_NAME,
      `checksum mismatch: it hashes to ${actual}, ${MANIFEST_SUM_NAME} says ${sum.trim()}`,
    );
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes.toString('utf8'));
  } catch (error) {
    throw new BackupDamage(MANIFEST_NAME, (error as Error).message);
  }
  // Only read here; whether it is right is checkSignature's to say, with the key.
  if (manifest.format_version !== FORMAT_VERSION) {
    return { manifest, manifestBytes: bytes, signature: undefined };
  }
  const mac = (await read(SIGNATURE_NAME, 1024)).toString('latin1');
  if (!/^[0-9a-f]{64}\n$/.test(mac)) {
    throw new BackupDamage(
      SIGNATURE_NAME,
      'is not one HMAC-SHA256 in lower-case hex and a newline',
    );
  }
  return { manifest, manifestBytes: bytes, signature: Buffer.from(mac.trim(), 'hex') };
}

/** Refuses an encrypted backup without the key it was made with, before reading parts. */
export function requireKey(manifest: Manifest, key: Buffer | undefined): void {
  const encryption = manifest.encryption;
  if (!encryption) return;
  if (!key) {
    throw new TesseraError(
      BackupErrors.backup_key_required,
      `Backup ${manifest.id} is encrypted: configure backup.encryption_key (or TESSERA_BACKUP_ENCRYPTION_KEY) with the key it was made with.`,
    );
  }
  if (keyId(key) !== encryption.key_id) {
    throw new TesseraError(
      BackupErrors.backup_key_mismatch,
      `Backup ${manifest.id} was encrypted with another key (key id ${encryption.key_id}; the configured key's id is ${keyId(key)}).`,
    );
  }
}

/** SHA-256 (hex) of a part's stored bytes. */
export async function partChecksum(backup: OpenBackup, part: ManifestPart): Promise<string> {
  const entry = backup.entries.get(part.part) as TarEntry;
  const hash = createHash('sha256');
  if (entry.size === 0) return hash.digest('hex');
  for await (const chunk of readRange(backup, entry.offset, entry.size)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * `size` bytes from `offset` of the opened file, in chunks. Read with positioned reads
 * on the handle, which stays open (an fs read stream would close it when destroyed).
 */
async function* readRange(backup: OpenBackup, offset: number, size: number) {
  const end = offset + size;
  for (let at = offset; at < end; at += READ_CHUNK) {
    const chunk = Buffer.alloc(Math.min(READ_CHUNK, end - at));
    await readExactly(backup.file, chunk, at);
    yield chunk;
  }
}

/**
 * A part's rows, decrypted, decompressed and parsed, in batches. Each row must be
 * an array as long as the part's columns. Throws BackupDamage naming the part.
 */
export async function* partRows(
  backup: OpenBackup,
  part: ManifestPart,
  key: Buffer | undefined,
): AsyncGenerator<unknown[][]> {
  const entry = backup.entries.get(part.part) as TarEntry;
  // The part's place in the manifest is its nonce: found by name, so a part taken
  // from another reading of the same manifest works too.
  const index = backup.manifest.tables.findIndex((candidate) => candidate.part === part.part);
  if (index < 0) throw new BackupDamage(part.part, 'not in the manifest');
  const encryption = backup.manifest.encryption;
  let dataSize = entry.size;
  let decipher: NodeJS.ReadWriteStream = new PassThrough();
  if (encryption) {
    if (!key) throw new BackupDamage(part.part, 'encrypted, and no key was given');
    if (dataSize < TAG_BYTES) throw new BackupDamage(part.part, 'too short to hold its tag');
    dataSize -= TAG_BYTES;
    const tag = Buffer.alloc(TAG_BYTES);
    await readExactly(backup.file, tag, entry.offset + dataSize);
    decipher = partDecipher(key, encryption, index, part.part, tag);
  }
  if (dataSize === 0) throw new BackupDamage(part.part, 'is empty');
  const source = Readable.from(readRange(backup, entry.offset, dataSize));
  const gunzip = createGunzip();
  const fail = (error: Error) => gunzip.destroy(error);
  source.on('error', fail);
  decipher.on('error', fail);
  source.pipe(decipher).pipe(gunzip);
  gunzip.setEncoding('utf8');
  let rest = '';
  let batch: unknown[][] = [];
  let line = 0;
  const parse = (text: string): unknown[] => {
    line++;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      throw new BackupDamage(part.part, `line ${line} is not JSON`);
    }
    if (!Array.isArray(row) || row.length !== part.columns.length) {
      throw new BackupDamage(
        part.part,
        `line ${line} is not a row of ${part.columns.length} values`,
      );
    }
    return row;
  };
  try {
    for await (const chunk of gunzip) {
      const lines = (rest + (chunk as string)).split('\n');
      rest = lines.pop() as string;
      for (const text of lines) {
        batch.push(parse(text));
        if (batch.length === BATCH_ROWS) {
          yield batch;
          batch = [];
        }
      }
    }
  } catch (error) {
    if (error instanceof BackupDamage) throw error;
    throw new BackupDamage(part.part, `cannot be read: ${describe(error)}`);
  } finally {
    source.destroy();
  }
  if (rest !== '') throw new BackupDamage(part.part, 'ends in the middle of a row');
  if (batch.length) yield batch;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /auth/i.test(message) ? 'decryption failed (the data was altered)' : message;
}
