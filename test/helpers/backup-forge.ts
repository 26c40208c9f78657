import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  SIGNATURE_NAME,
  type SigningKey,
  signManifest,
} from '../../src/backup/backup-signature.ts';
import {
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  type ManifestPart,
  UNSIGNED_FORMAT_VERSION,
} from '../../src/backup/manifest.ts';
import { openBackup } from '../../src/backup/read-backup.ts';
import { END_OF_ARCHIVE, paddingAfter, tarHeader } from '../../src/backup/tar.ts';

/**
 * What a forger does to a backup file, for tests. `stale` keeps the signature the
 * file had (a forger without the key cannot make a new one); `unsigned` removes it and
 * declares the file of the unsigned format 1; `resign` signs again with a key, as
 * someone holding it could.
 */
export type Resign = { readonly stale: true } | { readonly unsigned: true } | SigningKey;

export interface RowForgery {
  /** The (unencrypted) table whose rows change. */
  readonly table: string;
  /** Changes the rows (arrays in the part's column order) in place. */
  readonly change: (rows: unknown[][], columns: readonly string[]) => void;
  readonly signature: Resign;
}

/**
 * Writes to `copy` the backup at `path` with a table's rows changed, its checksums
 * recomputed the way the format computes them (each part's SHA-256 in the manifest,
 * the manifest's SHA-256 beside it), and the tar rebuilt around the new sizes.
 */
export async function forgeRows(path: string, copy: string, forgery: RowForgery): Promise<void> {
  const backup = await openBackup(path);
  await backup.close();
  const bytes = readFileSync(path);
  const manifest = JSON.parse(backup.manifestBytes.toString('utf8')) as Record<string, unknown>;
  const tables = manifest.tables as ManifestPart[];
  const index = tables.findIndex((part) => part.table === forgery.table);
  const part = tables[index] as ManifestPart;
  const entryOf = (name: string) => {
    const entry = backup.entries.get(name);
    if (!entry) throw new Error(`no ${name} in ${path}`);
    return bytes.subarray(entry.offset, entry.offset + entry.size);
  };
  const text = gunzipSync(entryOf(part.part)).toString('utf8');
  const rows = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown[]);
  forgery.change(
    rows,
    part.columns.map((column) => column.name),
  );
  const data = gzipSync(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  const sha256 = createHash('sha256').update(data).digest('hex');
  tables[index] = { ...part, rows: rows.length, bytes: data.length, sha256 };

  const { signature } = forgery;
  if ('unsigned' in signature) {
    manifest.format_version = UNSIGNED_FORMAT_VERSION;
    delete manifest.signature;
  }
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const sum = createHash('sha256').update(manifestBytes).digest('hex');
  const out: [string, Buffer][] = tables.map((p) => [
    p.part,
    p.part === part.part ? data : entryOf(p.part),
  ]);
  out.push([MANIFEST_NAME, manifestBytes], [MANIFEST_SUM_NAME, Buffer.from(`${sum}\n`)]);
  if ('stale' in signature) out.push([SIGNATURE_NAME, entryOf(SIGNATURE_NAME)]);
  else if ('key' in signature) out.push([SIGNATURE_NAME, signManifest(signature, manifestBytes)]);
  writeFileSync(copy, tar(out));
}

function tar(entries: [string, Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of entries) {
    blocks.push(tarHeader(name, data.length, Date.now()), data);
    blocks.push(Buffer.alloc(paddingAfter(data.length)));
  }
  blocks.push(END_OF_ARCHIVE);
  return Buffer.concat(blocks);
}
