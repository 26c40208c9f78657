import { isTesseraError } from '../platform/errors.ts';
import { type Authenticity, checkSignature, type SignatureCheck } from './backup-signature.ts';
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
  /**
   * The part (tar entry) at fault, `archive` for the container, `encryption` for the
   * encryption key, `signature` for the backup's authenticity.
   */
  readonly part: string;
  readonly message: string;
  /** The error code of a refusal (`backup_signature_invalid`, ...), for signature and key problems. */
  readonly code?: string;
}

/** The keys a backup is read with: what checks its signature, and what decrypts it. */
export interface BackupKeys extends SignatureCheck {
  /** backup.encryption_key, for an encrypted backup. */
  readonly key?: Buffer | undefined;
}

export interface VerifyReport {
  readonly path: string;
  /** Undefined when the manifest itself could not be read. */
  readonly manifest: Manifest | undefined;
  readonly problems: readonly BackupProblem[];
  /** Rows read and counted. */
  readonly rows: number;
  /** How its origin was established; undefined when that could not be done. */
  readonly authenticity: Authenticity | undefined;
}

/**
 * Checks a backup file end to end without touching any database: every tar header
 * and padding byte, the manifest against its checksum and its signature (nothing
 * else is read from a backup whose origin is not established), each part against its
 * SHA-256, and each part decrypted, decompressed and parsed, its rows counted
 * against the manifest. A part that fails its checksum is not decoded further.
 */
export async function verifyBackup(
  path: string,
  keys: BackupKeys,
  onProgress?: OnProgress,
): Promise<VerifyReport> {
  let backup: OpenBackup;
  try {
    backup = await openBackup(path, true);
  } catch (error) {
    if (error instanceof BackupDamage) {
      const problems = [problemOf(error)];
      return { path, manifest: undefined, problems, rows: 0, authenticity: undefined };
    }
    throw error;
  }
  try {
    return await verifyParts(backup, keys, onProgress);
  } finally {
    await backup.close();
  }
}

/** verifyBackup's checks of the parts, on a backup already opened (restore reads it once). */
export async function verifyParts(
  backup: OpenBackup,
  keys: BackupKeys,
  onProgress: OnProgress | undefined,
): Promise<VerifyReport> {
  const { manifest, path } = backup;
  const { key } = keys;
  const problems: BackupProblem[] = [];
  // A refusal (signature, key) ends the check: nothing more is read.
  const refused = (part: string, error: unknown, authenticity?: Authenticity): VerifyReport => {
    if (!isTesseraError(error)) throw error;
    const problem = { part, message: error.detail, code: error.code };
    return { path, manifest, problems: [problem], rows: 0, authenticity };
  };
  let authenticity: Authenticity;
  try {
    authenticity = checkSignature(backup, keys);
  } catch (error) {
    return refused('signature', error);
  }
  try {
    requireKey(manifest, key);
  } catch (error) {
    return refused('encryption', error, authenticity);
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
  return { path, manifest, problems, rows: doneRows, authenticity };
}

export function problemOf(error: BackupDamage): BackupProblem {
  return { part: error.part, message: error.detail };
}
