import { open as openSealed } from '../identity/tokens/secret-box.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { TesseraError } from '../platform/errors.ts';
import { type Authenticity, checkSignature } from './backup-signature.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { BackupDamage, type OpenBackup, openBackup, partRows, requireKey } from './read-backup.ts';
import type { RestoreOptions } from './restore.ts';
import { BACKUP_TABLES } from './tables.ts';
import { type BackupProblem, problemOf, verifyParts } from './verify-backup.ts';

// The checks a restore makes on the file alone, moved out of restore.ts: none of them
// touches the target, so they read apart from the transaction that does.

/** The file, its headers and manifest read; a damaged one is `backup_invalid`. */
export async function openChecked(path: string): Promise<OpenBackup> {
  try {
    return await openBackup(path, true);
  } catch (error) {
    if (error instanceof BackupDamage) throw invalid(path, [problemOf(error)]);
    throw error;
  }
}

function invalid(path: string, problems: readonly BackupProblem[]): TesseraError {
  const listed = problems.map((p) => `${p.part}: ${p.message}`).join('; ');
  return new TesseraError(BackupErrors.backup_invalid, `The backup ${path} is damaged: ${listed}`, {
    extensions: { problems },
  });
}

/**
 * Everything that can be known from the file alone, before the target is touched:
 * its signature, the key, every byte (as `verify`), the schema version, the tables,
 * the master key.
 */
export async function checkBackup(
  backup: OpenBackup,
  options: RestoreOptions,
): Promise<{ manifest: Manifest; authenticity: Authenticity }> {
  const { manifest } = backup;
  // Before anything the manifest says is used: a forged one is refused as such.
  const authenticity = checkSignature(backup, options);
  requireKey(manifest, options.key);
  const report = await verifyParts(backup, options, options.onProgress);
  if (report.problems.length) throw invalid(backup.path, report.problems);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (manifest.schema_version > latest) {
    throw new TesseraError(
      BackupErrors.backup_schema_newer,
      `Backup ${manifest.id} has schema version ${manifest.schema_version} (Tessera ${manifest.tessera_version}); this Tessera knows up to ${latest}. Restore it with a Tessera at least as new.`,
    );
  }
  const unknown = manifest.tables.filter((part) => !BACKUP_TABLES.includes(part.table));
  if (unknown.length) {
    throw new TesseraError(
      BackupErrors.backup_invalid,
      `Backup ${manifest.id} holds tables this Tessera does not know: ${unknown.map((p) => p.table).join(', ')}.`,
    );
  }
  await checkMasterKey(backup, options);
  return { manifest, authenticity };
}

/** The backup's signing keys must open with the target's master key. */
async function checkMasterKey(
  backup: OpenBackup,
  { masterKey, key }: RestoreOptions,
): Promise<void> {
  const { manifest } = backup;
  const part = manifest.tables.find((p) => p.table === 'signing_keys');
  if (!part || part.rows === 0) return;
  const kid = part.columns.findIndex((column) => column.name === 'kid');
  const sealed = part.columns.findIndex((column) => column.name === 'private_key_encrypted');
  const mismatch = (detail: string) =>
    new TesseraError(
      BackupErrors.backup_master_key_mismatch,
      `${detail} Tokens and signing keys in backup ${manifest.id} open only with the master key of the deployment it came from: set TESSERA_MASTER_KEY, or copy its master.key into the data directory, then restore again.`,
    );
  if (!masterKey) throw mismatch('No master key is configured for the target.');
  for await (const batch of partRows(backup, part, key)) {
    for (const row of batch) {
      try {
        openSealed(masterKey, String(row[sealed]), String(row[kid]));
      } catch {
        throw mismatch(
          `Signing key ${String(row[kid])} does not open with the target's master key.`,
        );
      }
    }
  }
}
