import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TesseraError } from '../platform/errors.ts';
import { keyId, partDecipher, TAG_BYTES } from './backup-key.ts';
import { BackupErrors } from './errors.ts';
import {
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  type Manifest,
  type ManifestPart,
  parseManifest,
} from './manifest.ts';
import { readExactly, readTarEntries, type TarEntry } from './tar.ts';

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const BATCH_ROWS = 1000;

/** A backup file opened for reading: its manifest checked against its own checksum. */
export interface OpenBackup {
  readonly path: string;
  readonly size: number;
  readonly manifest: Manifest;
  /** The tar entry of each part, by part name. */
  readonly entries: ReadonlyMap<string, TarEntry>;
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

/**
 * Reads the tar headers and the manifest. `strict` also requires every padding byte
 * to be zero (verify: no byte of the file goes unchecked). Throws BackupDamage.
 */
export async function openBackup(path: string, strict = false): Promise<OpenBackup> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    let entries: TarEntry[];
    try {
      entries = await readTarEntries(file, size, strict);
    } catch (error) {
      throw new BackupDamage('archive', (error as Error).message);
    }
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const manifest = await readManifest(file, byName);
    const known = new Set([
      MANIFEST_NAME,
      MANIFEST_SUM_NAME,
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
    return { path, size, manifest, entries: byName, close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}

async function readManifest(file: FileHandle, entries: Map<string, TarEntry>): Promise<Manifest> {
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
  try {
    return parseManifest(bytes.toString('utf8'));
  } catch (error) {
    throw new BackupDamage(MANIFEST_NAME, (error as Error).message);
  }
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
  for await (const chunk of createReadStream(backup.path, {
    start: entry.offset,
    end: entry.offset + entry.size - 1,
  })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
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
    const file = await open(backup.path, 'r');
    const tag = Buffer.alloc(TAG_BYTES);
    try {
      await readExactly(file, tag, entry.offset + dataSize);
    } finally {
      await file.close();
    }
    decipher = partDecipher(key, encryption, index, part.part, tag);
  }
  if (dataSize === 0) throw new BackupDamage(part.part, 'is empty');
  const source = createReadStream(backup.path, {
    start: entry.offset,
    end: entry.offset + dataSize - 1,
  });
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
