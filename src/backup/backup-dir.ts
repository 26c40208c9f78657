import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraError } from '../platform/errors.ts';
import { backupFileName, backupIdOf, isBackupId } from './backup-names.ts';
import { type SignatureStatus, type SigningKey, signatureStatus } from './backup-signature.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { NotARegularFile, openBackup } from './read-backup.ts';

/** One backup file in the backup directory, as lists show it. */
export interface BackupListing {
  readonly id: string;
  readonly path: string;
  readonly size: number;
  /** From the id, so even a damaged file has one. */
  readonly created_at: string;
  /** Undefined when the file cannot be read; `problem` says why. */
  readonly manifest: Manifest | undefined;
  readonly problem: string | undefined;
  /** Its signature under the key given (`unknown_key` without one); undefined when unreadable. */
  readonly signature: SignatureStatus | undefined;
}

/** The time a backup id names. */
export function createdAtOf(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms));
}

/**
 * The ids of the backup files in `dir`, newest first, from their names alone. Only
 * regular files count: a symbolic link named like a backup (to master.key, say) is
 * neither listed, nor sent, restored, deleted or pruned.
 */
async function backupIds(dir: string): Promise<string[]> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ids = names.map(backupIdOf).filter((id): id is string => id !== undefined);
  return ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

export interface BackupPage {
  /** Only backups older than this id (the previous page's last). */
  readonly after?: string | undefined;
  readonly limit?: number | undefined;
}

/**
 * The backup files in `dir`, newest first (an absent directory holds none). Only the
 * page's files are opened: the ids, and so the order, come from the names.
 */
export async function listBackups(
  dir: string,
  page: BackupPage = {},
  key?: SigningKey,
): Promise<BackupListing[]> {
  const { after, limit } = page;
  const ids = (await backupIds(dir)).filter((id) => after === undefined || id < after);
  const wanted = limit === undefined ? ids : ids.slice(0, limit);
  const listed = await Promise.all(
    wanted.map((id) => describeBackup(dir, id, key).catch(unlessGone)),
  );
  return listed.filter((backup) => backup !== undefined);
}

/** A file deleted (pruned) between reading the directory and its stat is just not listed. */
function unlessGone(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

/** Throws an ENOENT error for a name that is no regular file (a link, a directory). */
async function describeBackup(dir: string, id: string, key?: SigningKey): Promise<BackupListing> {
  const path = join(dir, backupFileName(id));
  const stats = await lstat(path);
  if (!stats.isFile()) throw new NotARegularFile(`${path} is not a regular file`);
  const { size } = stats;
  const created_at = createdAtOf(id).toISOString();
  try {
    const backup = await openBackup(path);
    await backup.close();
    const { manifest } = backup;
    const signature = signatureStatus(backup, key);
    return { id, path, size, created_at, manifest, problem: undefined, signature };
  } catch (error) {
    // Replaced by a link since the lstat: as if it were not there.
    if (error instanceof NotARegularFile) throw error;
    const problem = (error as Error).message;
    return { id, path, size, created_at, manifest: undefined, problem, signature: undefined };
  }
}

/** The file of backup `id` in `dir`; 404 `backup_not_found` when there is none. */
export async function findBackup(
  dir: string,
  id: string,
  key?: SigningKey,
): Promise<BackupListing> {
  const notFound = () =>
    new TesseraError(BackupErrors.backup_not_found, `There is no backup ${id} in ${dir}.`);
  if (!isBackupId(id)) throw notFound();
  try {
    return await describeBackup(dir, id, key);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
    throw error;
  }
}

export async function deleteBackup(dir: string, id: string): Promise<BackupListing> {
  const backup = await findBackup(dir, id);
  await unlink(backup.path);
  return backup;
}

export interface RetentionRules {
  /** Keep the newest this many; 0: no count rule. */
  readonly keepCount: number;
  /** Keep those younger than this many days; 0: no age rule. */
  readonly keepDays: number;
}

/**
 * The backups the rules let go, given newest first. A backup either rule keeps is
 * kept, and the newest is always kept, so a schedule that has been failing for
 * longer than `keepDays` never prunes away the last backup there is.
 */
export function backupsToPrune<T extends { readonly id: string }>(
  backups: readonly T[],
  rules: RetentionRules,
  now: Date,
): T[] {
  if (rules.keepCount <= 0 && rules.keepDays <= 0) return [];
  const cutoff = now.getTime() - rules.keepDays * 86_400_000;
  return backups.filter((backup, index) => {
    if (index === 0) return false;
    if (rules.keepCount > 0 && index < rules.keepCount) return false;
    if (rules.keepDays > 0 && createdAtOf(backup.id).getTime() > cutoff) return false;
    return true;
  });
}

/** Deletes what the rules let go; returns what it deleted. */
export async function pruneBackups(
  dir: string,
  rules: RetentionRules,
  now: Date = new Date(),
): Promise<BackupListing[]> {
  const doomed = backupsToPrune(
    (await backupIds(dir)).map((id) => ({ id })),
    rules,
    now,
  );
  const deleted: BackupListing[] = [];
  for (const { id } of doomed) {
    // Described (for its size) only when it is to go; one pruned meanwhile is skipped.
    const backup = await describeBackup(dir, id).catch(unlessGone);
    if (!backup) continue;
    await unlink(backup.path);
    deleted.push(backup);
  }
  return deleted;
}
