import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findBackup } from '../backup/backup-dir.ts';
import { parseBackupKey } from '../backup/backup-key.ts';
import { isBackupId } from '../backup/backup-names.ts';
import { type Authenticity, backupSigningKey } from '../backup/backup-signature.ts';
import { BackupErrors } from '../backup/errors.ts';
import { backupDirOf } from '../backup/service.ts';
import type { BackupKeys } from '../backup/verify-backup.ts';
import type { Config } from '../config/schema.ts';
import { loadMasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE } from '../identity/tokens/master-key.ts';
import { TesseraError } from '../platform/errors.ts';
import type { CliIo } from './user.ts';

// What `tessera backup verify` and `restore` read a backup file with: its path, and the keys.

/**
 * A file path, or the id of a backup in the backup directory. An id never names a
 * symbolic link; a path the operator typed may be one, and is followed here, once.
 */
export async function backupPathOf(config: Config, file: string): Promise<string> {
  if (isBackupId(file) && !existsSync(file)) {
    return (await findBackup(backupDirOf(config), file)).path;
  }
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new TesseraError(BackupErrors.backup_not_found, `There is no file ${path}.`);
  }
  return realpathSync(path);
}

/**
 * The master key the target's servers will use: TESSERA_MASTER_KEY, else an existing
 * <data_dir>/master.key (read with its permission check). Never creates one: a new
 * random key could not open the backup's signing keys, and the restore says so.
 */
export function existingMasterKey(storage: Config['storage'], env: NodeJS.ProcessEnv) {
  const file = join(resolve(storage.data_dir), MASTER_KEY_FILE);
  if (env[MASTER_KEY_ENV] === undefined && !existsSync(file)) return undefined;
  return loadMasterKey(storage, env);
}

/** The keys verify and restore read a backup with, from the configuration and the environment. */
export function backupKeys(
  config: Config,
  env: NodeJS.ProcessEnv,
  allowUnsigned: boolean,
): BackupKeys {
  const masterKey = config.backup.signing_key ? undefined : existingMasterKey(config.storage, env);
  return {
    key: parseBackupKey(config.backup.encryption_key),
    signingKey: backupSigningKey(config.backup.signing_key, masterKey),
    allowUnsigned,
  };
}

/** Says, on stderr, that a backup was let in without an established origin. */
export function warnUnauthenticated(
  io: CliIo,
  id: string,
  authenticity: Authenticity | undefined,
): void {
  if (authenticity === 'unsigned') {
    io.stderr.write(`tessera: warning: backup ${id} is not signed; accepted (--allow-unsigned)\n`);
  } else if (authenticity === 'unchecked') {
    io.stderr.write(
      `tessera: warning: backup ${id} is signed with a key that is not configured; its signature was not checked (--allow-unsigned)\n`,
    );
  }
}

export const ALLOW_UNSIGNED =
  'accept a backup whose origin cannot be checked: unsigned (made before backups were signed), or signed with a key not configured. Never one that fails its signature';
