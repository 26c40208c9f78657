import type { FileHandle } from 'node:fs/promises';

/**
 * The container of a backup file: POSIX ustar, so `tar tf` lists a backup and
 * `tar xOf` extracts a part with standard tools. Only what backups need: regular
 * files with short names, sizes in octal or, from 8 GiB, in base-256.
 */
export const BLOCK = 512;

export interface TarEntry {
  readonly name: string;
  /** Offset of the entry's 512-byte header in the file. */
  readonly headerOffset: number;
  /** Offset of its data. */
  readonly offset: number;
  readonly size: number;
}

/** A ustar header for a regular file of `size` bytes. */
export function tarHeader(name: string, size: number, mtimeMs: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`tar entry name too long: ${name}`);
  nameBytes.copy(header, 0);
  writeOctal(header, 100, 8, 0o600); // mode
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeSize(header, size);
  writeOctal(header, 136, 12, Math.floor(mtimeMs / 1000));
  header.write('0', 156, 'ascii'); // typeflag: regular file
  header.write('ustar\u000000', 257, 'ascii'); // magic "ustar\0" and version "00"
  header.write('tessera', 265, 'ascii'); // uname
  header.write('tessera', 297, 'ascii'); // gname
  writeChecksum(header);
  return header;
}

/** Bytes of zero padding after `size` bytes of data, up to the next block. */
export function paddingAfter(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The archive ends with two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export class TarFormatError extends Error {}

/**
 * The entries of a tar file, reading only headers. Every header's checksum is
 * checked, and the archive must end with its two zero blocks; `checkPadding` also
 * requires the padding after every entry and everything after the end to be zero,
 * so that no byte of the file goes unchecked (verify).
 */
export async function readTarEntries(
  file: FileHandle,
  fileSize: number,
  checkPadding = false,
): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const block = Buffer.alloc(BLOCK);
  let offset = 0;
  for (;;) {
    if (offset + BLOCK > fileSize) {
      throw new TarFormatError(
        `the file ends at byte ${fileSize} without the end-of-archive marker`,
      );
    }
    await readExactly(file, block, offset);
    if (block.every((byte) => byte === 0)) break;
    const where = entries.length ? `the header after ${entries.at(-1)?.name}` : 'the first header';
    const stored = parseOctal(block, 148, 8);
    if (stored !== checksumOf(block)) {
      throw new TarFormatError(`${where} (byte ${offset}) is corrupt: its checksum does not match`);
    }
    const name = block.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = readSize(block);
    const dataOffset = offset + BLOCK;
    if (size < 0 || dataOffset + size > fileSize) {
      throw new TarFormatError(
        `${where} (byte ${offset}) gives ${name} a size past the end of the file`,
      );
    }
    entries.push({ name, headerOffset: offset, offset: dataOffset, size });
    offset = dataOffset + size + paddingAfter(size);
    if (checkPadding)
      await requireZeros(file, dataOffset + size, offset, `the padding after ${name}`);
  }
  if (checkPadding) await requireZeros(file, offset, fileSize, 'the end of the archive');
  return entries;
}

async function requireZeros(
  file: FileHandle,
  from: number,
  to: number,
  what: string,
): Promise<void> {
  const chunk = Buffer.alloc(Math.min(Math.max(to - from, 0), 64 * 1024));
  for (let at = from; at < to; at += chunk.length) {
    const length = Math.min(chunk.length, to - at);
    await readExactly(file, chunk.subarray(0, length), at);
    const bad = chunk.subarray(0, length).findIndex((byte) => byte !== 0);
    if (bad >= 0) throw new TarFormatError(`${what} is corrupt: byte ${at + bad} is not zero`);
  }
}

export async function readExactly(
  file: FileHandle,
  buffer: Buffer,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await file.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0)
      throw new TarFormatError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

const OCTAL_SIZE_LIMIT = 8 ** 11;

function writeSize(header: Buffer, size: number): void {
  if (size < OCTAL_SIZE_LIMIT) {
    writeOctal(header, 124, 12, size);
    return;
  }
  // GNU base-256: the top bit of the first byte set, then the size big-endian.
  header.fill(0, 124, 136);
  header[124] = 0x80;
  header.writeBigUInt64BE(BigInt(size), 128);
}

function readSize(header: Buffer): number {
  if ((header[124] ?? 0) & 0x80) return Number(header.readBigUInt64BE(128));
  return parseOctal(header, 124, 12);
}

function parseOctal(header: Buffer, offset: number, length: number): number {
  const text = header
    .toString('ascii', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : -1;
}

/** The sum of the header's bytes with the checksum field counted as spaces. */
function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum;
}

function writeChecksum(header: Buffer): void {
  header.write(`${checksumOf(header).toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
}
