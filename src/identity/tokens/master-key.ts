import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/schema.ts';

export const MASTER_KEY_ENV = 'TESSERA_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_BYTES = 32;

const HOW_TO_MAKE = 'make one with `openssl rand -base64 32`';
// Standard base64 of exactly 32 bytes: 43 characters (the last carries 4 bits), then "=".
const BASE64_32_BYTES = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?$/;

/**
 * The key that encrypts signing keys at rest (AES-256-GCM, see secret-box.ts).
 * `TESSERA_MASTER_KEY` wins; otherwise `<data_dir>/master.key`, created on first use.
 * A fleet on PostgreSQL must give every node the same key (the variable, or a copy
 * of the file): a node with another key cannot open the signing keys.
 */
export function loadMasterKey(
  storage: Pick<Config['storage'], 'data_dir'>,
  env: NodeJS.ProcessEnv = process.env,
): Buffer {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined) return parseMasterKey(fromEnv, MASTER_KEY_ENV);
  return readOrCreateKeyFile(join(resolve(storage.data_dir), MASTER_KEY_FILE), storage.data_dir);
}

/** Strict: a typo or a truncated copy must fail loudly, not become a different key. */
export function parseMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error(`${source} is empty: ${HOW_TO_MAKE}`);
  if (!BASE64_32_BYTES.test(trimmed)) {
    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)
      ? ` (it decodes to ${Buffer.from(trimmed, 'base64').length} bytes)`
      : ' (it is not standard base64)';
    throw new Error(
      `${source} must be the base64 encoding of exactly ${MASTER_KEY_BYTES} random bytes${bytes}: ${HOW_TO_MAKE}`,
    );
  }
  return Buffer.from(trimmed, 'base64');
}

function readOrCreateKeyFile(path: string, dataDir: string): Buffer {
  try {
    return readKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  createKeyFile(path, dataDir);
  return readKeyFile(path);
}

function readKeyFile(path: string): Buffer {
  const stats = statSync(path);
  // POSIX only: Windows reports no meaningful group/other bits.
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    throw new Error(
      `${path} is accessible to group or others (mode ${(stats.mode & 0o777).toString(8)}); ` +
        `it holds the master key: run \`chmod 600 ${path}\` or set ${MASTER_KEY_ENV}`,
    );
  }
  return parseMasterKey(readFileSync(path, 'utf8'), path);
}

/**
 * Written to a private temporary file, then linked into place: link() fails when the
 * name exists, so two processes starting together both end up with the first key,
 * and nobody ever reads a half-written file.
 */
function createKeyFile(path: string, dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  syncDirectory(dataDir);
}

/** A key lost in a crash would make every signing key unreadable: persist the new name. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
