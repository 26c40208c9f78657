import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TESSERA_VERSION } from '../platform/version.ts';
import type { Snapshot, TableShape } from '../storage/backup/adapter.ts';
import { openBackupAdapter } from '../storage/backup/open-backup-adapter.ts';
import type { Database } from '../storage/open-database.ts';
import { type EncryptionInfo, newEncryption, partCipher } from './backup-key.ts';
import { backupFileName, newBackupId } from './backup-names.ts';
import {
  SIGNATURE_NAME,
  type SigningKey,
  signatureInfo,
  signManifest,
} from './backup-signature.ts';
import {
  type EventRange,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  type Manifest,
  type ManifestPart,
} from './manifest.ts';
import type { OnProgress } from './progress.ts';
import { BACKUP_TABLES, LEDGER_TABLE } from './tables.ts';
import { BLOCK, END_OF_ARCHIVE, paddingAfter, tarHeader } from './tar.ts';

export interface CreateBackupOptions {
  /** The directory the file goes to, created (0700) when missing. */
  readonly dir: string;
  /** Encrypts the backup (backup.encryption_key). */
  readonly key?: Buffer | undefined;
  /** Signs the manifest (backup-signature.ts): every backup is signed. */
  readonly signingKey: SigningKey;
  readonly now?: () => Date;
  readonly onProgress?: OnProgress | undefined;
}

export interface BackupFile {
  readonly id: string;
  readonly path: string;
  /** Bytes on disk. */
  readonly size: number;
  readonly manifest: Manifest;
}

/**
 * Writes one backup file of `db` as of one snapshot, while writers go on. The file is
 * written under a hidden temporary name and renamed into place once complete and
 * flushed, so a file with a backup's name is always a whole backup.
 */
export async function createBackup(
  db: Database,
  options: CreateBackupOptions,
): Promise<BackupFile> {
  const now = options.now?.() ?? new Date();
  const id = newBackupId(now, randomBytes(3).toString('hex'));
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const path = join(options.dir, backupFileName(id));
  const partial = join(options.dir, `.${backupFileName(id)}.partial`);
  const snapshot = await openBackupAdapter(db).openSnapshot();
  let file: FileHandle | undefined;
  try {
    const tables = await tablesToSave(snapshot, db.location);
    const shapes = new Map<string, TableShape>();
    const counts = new Map<string, number>();
    for (const table of tables) {
      shapes.set(table, await snapshot.shape(table));
      counts.set(table, await snapshot.count(table));
    }
    const encryption = options.key ? newEncryption(options.key) : null;
    file = await open(partial, 'wx', 0o600);
    const writer = new TarWriter(file, now.getTime());
    const totalRows = [...counts.values()].reduce((sum, n) => sum + n, 0);
    let doneRows = 0;
    const parts: ManifestPart[] = [];
    for (const [index, table] of tables.entries()) {
      const shape = shapes.get(table) as TableShape;
      const tableRows = counts.get(table) as number;
      const part = `tables/${table}.ndjson.gz${encryption ? '.enc' : ''}`;
      let rows = 0;
      const report = () =>
        options.onProgress?.({
          phase: 'backup',
          table,
          rows,
          tableRows,
          doneRows: doneRows + rows,
          totalRows,
        });
      const counted = (batchRows: number) => {
        rows += batchRows;
        report();
      };
      const cipher =
        encryption && options.key ? partCipher(options.key, encryption, index, part) : undefined;
      const { bytes, sha256 } = await writer.entry(part, async (sink) => {
        await pipeline(
          Readable.from(encodeRows(snapshot.rows(table, shape), counted)),
          createGzip(),
          cipher ?? new PassThrough(),
          sink,
        );
        return cipher ? [cipher.getAuthTag()] : [];
      });
      // Also for a table without rows, so every table gets its line.
      if (rows === 0) report();
      doneRows += rows;
      parts.push({ table, part, columns: shape.columns, rows, bytes, sha256 });
    }
    const manifest: Manifest = {
      format: FORMAT,
      format_version: FORMAT_VERSION,
      id,
      created_at: now.toISOString(),
      tessera_version: TESSERA_VERSION,
      engine: db.engine,
      schema_version: snapshot.schemaVersion,
      deployment_id: await deploymentIdOf(snapshot),
      events: await eventRangeOf(snapshot),
      encryption: encryption as EncryptionInfo | null,
      signature: signatureInfo(options.signingKey),
      tables: parts,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
    await writer.whole(MANIFEST_NAME, manifestBytes);
    await writer.whole(MANIFEST_SUM_NAME, Buffer.from(`${sha256Of(manifestBytes)}\n`, 'ascii'));
    await writer.whole(SIGNATURE_NAME, signManifest(options.signingKey, manifestBytes));
    const size = await writer.finish();
    await file.close();
    file = undefined;
    await rename(partial, path);
    await syncDirectory(options.dir);
    return { id, path, size, manifest };
  } catch (error) {
    await file?.close().catch(() => {});
    await unlink(partial).catch(() => {});
    throw error;
  } finally {
    await snapshot.close();
  }
}

/** The known tables present, in load order; a table no code knows stops the backup. */
async function tablesToSave(snapshot: Snapshot, location: string): Promise<string[]> {
  if (snapshot.schemaVersion === 0) {
    throw new Error(`the database at ${location} was never migrated: there is nothing to back up`);
  }
  const present = await snapshot.tables();
  const unknown = present.filter((name) => name !== LEDGER_TABLE && !BACKUP_TABLES.includes(name));
  if (unknown.length) {
    throw new Error(
      `the database at ${location} has tables this version of Tessera does not back up: ${unknown.join(', ')}`,
    );
  }
  return BACKUP_TABLES.filter((name) => present.includes(name));
}

async function deploymentIdOf(snapshot: Snapshot): Promise<string | null> {
  const row = await snapshot.first("SELECT value FROM tessera_meta WHERE key = 'deployment_id'");
  return row ? String(row.value) : null;
}

async function eventRangeOf(snapshot: Snapshot): Promise<EventRange> {
  const range = await snapshot.first(
    'SELECT count(*) AS count, min(position) AS first, max(position) AS last FROM events',
  );
  const head = await snapshot.first('SELECT position FROM event_log_head WHERE id = 1');
  const asNumber = (value: unknown) =>
    value === null || value === undefined ? null : Number(value);
  return {
    count: Number(range?.count ?? 0),
    first_position: asNumber(range?.first),
    last_position: asNumber(range?.last),
    head_position: Number(head?.position ?? 0),
  };
}

/** One JSON array per line, a batch of rows per chunk; `counted` hears each batch's size. */
async function* encodeRows(batches: AsyncIterable<unknown[][]>, counted: (rows: number) => void) {
  for await (const batch of batches) {
    let text = '';
    for (const row of batch) text += `${JSON.stringify(row)}\n`;
    counted(batch.length);
    yield Buffer.from(text, 'utf8');
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Appends tar entries to a file whose sizes are known only once written: a blank
 * header is reserved, the data streamed after it, and the header filled in at the end.
 */
class TarWriter {
  private position = 0;
  private readonly file: FileHandle;
  private readonly mtimeMs: number;

  constructor(file: FileHandle, mtimeMs: number) {
    this.file = file;
    this.mtimeMs = mtimeMs;
  }

  /**
   * `produce` pipes the entry's data into the sink it is given and returns any bytes
   * to add after it (the encryption tag). Returns the entry's size and SHA-256.
   */
  async entry(
    name: string,
    produce: (sink: (chunks: AsyncIterable<Buffer>) => Promise<void>) => Promise<Buffer[]>,
  ): Promise<{ bytes: number; sha256: string }> {
    const headerAt = this.position;
    this.position += BLOCK;
    const hash = createHash('sha256');
    let bytes = 0;
    const write = async (chunk: Buffer) => {
      hash.update(chunk);
      await this.write(chunk);
      bytes += chunk.length;
    };
    const trailer = await produce(async (chunks) => {
      for await (const chunk of chunks) await write(chunk);
    });
    for (const chunk of trailer) await write(chunk);
    await this.pad(bytes);
    await this.file.write(tarHeader(name, bytes, this.mtimeMs), 0, BLOCK, headerAt);
    return { bytes, sha256: hash.digest('hex') };
  }

  async whole(name: string, data: Buffer): Promise<void> {
    await this.write(tarHeader(name, data.length, this.mtimeMs));
    await this.write(data);
    await this.pad(data.length);
  }

  /** Ends the archive and flushes it to disk; returns the file's size. */
  async finish(): Promise<number> {
    await this.write(END_OF_ARCHIVE);
    await this.file.sync();
    return this.position;
  }

  private async pad(size: number): Promise<void> {
    const padding = paddingAfter(size);
    if (padding) await this.write(Buffer.alloc(padding));
  }

  private async write(chunk: Buffer): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.file.write(
        chunk,
        done,
        chunk.length - done,
        this.position,
      );
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

/** Makes the rename durable: without it a crash could forget the new name. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
