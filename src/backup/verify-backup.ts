import { isTesseraError } from '../platform/errors.ts';
import type { Manifest } from './manifest.ts';
import type { OnProgress } from './progress.ts';
import {
  BackupDamage,
  type OpenBackup,
  openBackup,
  partChecksum,
  partRows,
  requireKey,
} from './read-backup.ts';

export interface BackupProblem {
  /** The part (tar entry) at fault, `archive` for the container, `encryption` for the key. */
  readonly part: string;
  readonly message: string;
}

export interface VerifyReport {
  readonly path: string;
  /** Undefined when the manifest itself could not be read. */
  readonly manifest: Manifest | undefined;
  readonly problems: readonly BackupProblem[];
  /** Rows read and counted. */
  readonly rows: number;
}

/**
 * Checks a backup file end to end without touching any database: every tar header
 * and padding byte, the manifest against its checksum, each part against its
 * SHA-256, and each part decrypted, decompressed and parsed, its rows counted
 * against the manifest. A part that fails its checksum is not decoded further.
 */
export async function verifyBackup(
  path: string,
  key: Buffer | undefined,
  onProgress?: OnProgress,
): Promise<VerifyReport> {
  let backup: OpenBackup;
  try {
    backup = await openBackup(path, true);
  } catch (error) {
    if (error instanceof BackupDamage) {
      return { path, manifest: undefined, problems: [problemOf(error)], rows: 0 };
    }
    throw error;
  }
  try {
    return await verifyParts(backup, key, onProgress);
  } finally {
    await backup.close();
  }
}

/** verifyBackup's checks of the parts, on a backup already opened (restore reads it once). */
export async function verifyParts(
  backup: OpenBackup,
  key: Buffer | undefined,
  onProgress: OnProgress | undefined,
): Promise<VerifyReport> {
  const { manifest, path } = backup;
  const problems: BackupProblem[] = [];
  try {
    requireKey(manifest, key);
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    return { path, manifest, problems: [{ part: 'encryption', message: error.detail }], rows: 0 };
  }
  const totalRows = manifest.tables.reduce((sum, part) => sum + part.rows, 0);
  let doneRows = 0;
  for (const part of manifest.tables) {
    const sha256 = await partChecksum(backup, part);
    if (sha256 !== part.sha256) {
      problems.push({
        part: part.part,
        message: `checksum mismatch: it hashes to ${sha256}, the manifest says ${part.sha256}`,
      });
      continue;
    }
    let rows = 0;
    const report = () =>
      onProgress?.({
        phase: 'verify',
        table: part.table,
        rows,
        tableRows: part.rows,
        doneRows,
        totalRows,
      });
    try {
      for await (const batch of partRows(backup, part, key)) {
        rows += batch.length;
        doneRows += batch.length;
        report();
      }
      // Also for a table without rows, so every table gets its line.
      if (rows === 0) report();
    } catch (error) {
      if (!(error instanceof BackupDamage)) throw error;
      problems.push(problemOf(error));
      continue;
    }
    if (rows !== part.rows) {
      problems.push({ part: part.part, message: `${rows} rows, the manifest says ${part.rows}` });
    }
    if (part.table === 'events' && rows !== manifest.events.count) {
      problems.push({
        part: part.part,
        message: `${rows} events, the manifest's event range says ${manifest.events.count}`,
      });
    }
  }
  return { path, manifest, problems, rows: doneRows };
}

export function problemOf(error: BackupDamage): BackupProblem {
  return { part: error.part, message: error.detail };
}
