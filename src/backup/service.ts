import { join, resolve } from 'node:path';
import type { AuditContext } from '../access/audit-context.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import { loadMasterKey } from '../identity/tokens/master-key.ts';
import { TesseraError } from '../platform/errors.ts';
import type { Database } from '../storage/open-database.ts';
import {
  type BackupListing,
  type BackupPage,
  deleteBackup,
  findBackup,
  listBackups,
  pruneBackups,
  type RetentionRules,
} from './backup-dir.ts';
import { parseBackupKey } from './backup-key.ts';
import { backupSigningKey, type SigningKey } from './backup-signature.ts';
import { BackupErrors } from './errors.ts';
import type { OnProgress } from './progress.ts';
import { type BackupFile, createBackup } from './write-backup.ts';

/** Told about every backup this process makes (metrics). */
export interface BackupObserver {
  succeeded(file: BackupFile, seconds: number): void;
  failed(error: unknown): void;
}

export interface BackupServiceOptions {
  readonly db: Database;
  readonly config: Pick<Config, 'backup' | 'storage'>;
  readonly audit: AuditLog;
  readonly observer?: BackupObserver | undefined;
  readonly now?: () => Date;
  /** Where TESSERA_MASTER_KEY is read, for the key backups are signed with (default: process.env). */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

export interface CreateOptions {
  /** Another directory than the configured one (`tessera backup create --out`). */
  readonly dir?: string | undefined;
  readonly onProgress?: OnProgress | undefined;
}

/**
 * Backups of this deployment in the backup directory: made one at a time per
 * process, each creation and deletion recorded in the `system` tenant's audit trail.
 */
export interface BackupService {
  /** The configured directory (backup.dir, or <data_dir>/backups). */
  readonly dir: string;
  /** The encryption key new backups get (and verify/restore need), if configured. */
  readonly key: Buffer | undefined;
  /** The key new backups are signed with: backup.signing_key, else derived from the master key. */
  signingKey(): SigningKey;
  /** The configured retention (backup.retention_count, backup.retention_days). */
  readonly retention: RetentionRules;
  create(context: AuditContext, options?: CreateOptions): Promise<BackupFile>;
  /** Newest first; only the page's files are read. */
  list(page?: BackupPage): Promise<BackupListing[]>;
  find(id: string): Promise<BackupListing>;
  remove(context: AuditContext, id: string): Promise<BackupListing>;
  /** Deletes what `rules` (default: the configured retention) let go. */
  prune(context: AuditContext, rules?: RetentionRules): Promise<BackupListing[]>;
}

export function backupDirOf(config: Pick<Config, 'backup' | 'storage'>): string {
  return resolve(config.backup.dir || join(config.storage.data_dir, 'backups'));
}

export function createBackupService(options: BackupServiceOptions): BackupService {
  const { db, config, audit } = options;
  const dir = backupDirOf(config);
  const key = parseBackupKey(config.backup.encryption_key);
  const now = options.now ?? (() => new Date());
  let signing: SigningKey | undefined;
  // On first use: the master key (the identity domain's, loaded the same way) may be
  // created on first start, and only backups need it here.
  const signingKey = (): SigningKey => {
    signing ??= backupSigningKey(
      config.backup.signing_key,
      config.backup.signing_key ? undefined : loadMasterKey(config.storage, options.env),
    ) as SigningKey;
    return signing;
  };
  const retention: RetentionRules = {
    keepCount: config.backup.retention_count,
    keepDays: config.backup.retention_days,
  };
  let running: Promise<unknown> | undefined;

  async function create(context: AuditContext, createOptions: CreateOptions = {}) {
    if (running) {
      throw new TesseraError(
        BackupErrors.backup_in_progress,
        'A backup is being made on this node; try again when it has finished.',
      );
    }
    const started = performance.now();
    const work = createBackup(db, {
      dir: createOptions.dir ?? dir,
      key,
      signingKey: signingKey(),
      now,
      onProgress: createOptions.onProgress,
    });
    running = work;
    try {
      const file = await work;
      options.observer?.succeeded(file, (performance.now() - started) / 1000);
      await audit.record(context, [
        {
          tenant_id: 'system',
          action: 'backup.created',
          target: `backup:${file.id}`,
          outcome: 'success',
          details: {
            size: file.size,
            events: file.manifest.events.count,
            head_position: file.manifest.events.head_position,
            encrypted: file.manifest.encryption !== null,
          },
        },
      ]);
      return file;
    } catch (error) {
      options.observer?.failed(error);
      throw storageProblem(error, createOptions.dir ?? dir) ?? error;
    } finally {
      running = undefined;
    }
  }

  const recordDeleted = (context: AuditContext, deleted: BackupListing[], reason: string) =>
    audit.record(
      context,
      deleted.map((backup) => ({
        tenant_id: 'system',
        action: 'backup.deleted',
        target: `backup:${backup.id}`,
        outcome: 'success' as const,
        details: { reason, size: backup.size },
      })),
    );

  return {
    dir,
    key,
    signingKey,
    retention,
    create,
    list: (page) => listBackups(dir, page, signingKey()),
    find: (id) => findBackup(dir, id, signingKey()),
    async remove(context, id) {
      const deleted = await deleteBackup(dir, id);
      await recordDeleted(context, [deleted], 'deleted');
      return deleted;
    },
    async prune(context, rules = retention) {
      const deleted = await pruneBackups(dir, rules, now());
      await recordDeleted(context, deleted, 'retention');
      return deleted;
    },
  };
}

const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const UNUSABLE = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EROFS', 'EISDIR']);

/**
 * The file system refusing the backup directory is the operator's to fix, not a bug:
 * a stable code and the reason, instead of a bare 500. The partial file is gone.
 */
function storageProblem(error: unknown, dir: string): TesseraError | undefined {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === undefined) return undefined;
  if (FULL.has(code)) {
    return new TesseraError(
      BackupErrors.backup_storage_full,
      `The backup directory ${dir} has no room for the backup (${code}); free space or prune old backups.`,
      { cause: error },
    );
  }
  if (UNUSABLE.has(code)) {
    return new TesseraError(
      BackupErrors.backup_dir_unusable,
      `The backup directory ${dir} cannot be written (${code}: ${(error as Error).message}); check backup.dir and its permissions.`,
      { cause: error },
    );
  }
  return undefined;
}
