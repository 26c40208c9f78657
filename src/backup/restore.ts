import { type AuditContext, CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { createAuditLog } from '../audit/audit-log.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { TesseraError } from '../platform/errors.ts';
import { openBackupAdapter } from '../storage/backup/open-backup-adapter.ts';
import { applyMigrations } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import type { Authenticity } from './backup-signature.ts';
import { checkBackup, openChecked } from './check-backup.ts';
import { BackupErrors } from './errors.ts';
import { dropTesseraSchema, inspectTarget } from './inspect-target.ts';
import { loadParts, matchShapes } from './load-parts.ts';
import type { Manifest } from './manifest.ts';
import type { OnProgress } from './progress.ts';
import type { BackupKeys } from './verify-backup.ts';

// The restore's order of steps and its one transaction stay here; the steps live in
// check-backup.ts (the file alone), inspect-target.ts (the target before the load) and
// load-parts.ts (the tables themselves).

/** `key` and `signingKey`: the encryption key, and the key the signature is checked with. */
export interface RestoreOptions extends BackupKeys {
  /** Replace whatever the target holds; without it a target with data is refused. */
  readonly force?: boolean | undefined;
  /**
   * The master key the target's servers will use. The backup's signing keys must open
   * with it, or every token issued before would stop verifying: the restore refuses.
   */
  readonly masterKey: Buffer | undefined;
  /** Who restores, for the audit event the restore leaves (default: the CLI). */
  readonly audit?: AuditContext | undefined;
  readonly onProgress?: OnProgress | undefined;
}

export interface RestoreResult {
  readonly manifest: Manifest;
  readonly rows: number;
  /** The schema version after the restore (the latest this code knows). */
  readonly schemaVersion: number;
  /** `signed`, or how an unsigned backup was let in (allowUnsigned). */
  readonly authenticity: Authenticity;
}

/**
 * Loads a backup into `db`, of either engine. The file is verified first; then, in
 * one transaction holding the schema lock, the target is brought to the backup's
 * schema version, emptied, loaded, migrated to the latest version and given a
 * `backup.restored` audit event. Any failure rolls all of it back: the target is
 * either restored or unchanged. Servers on the target should be stopped meanwhile.
 */
export async function restoreBackup(
  db: Database,
  path: string,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const backup = await openChecked(path);
  try {
    const { manifest, authenticity } = await checkBackup(backup, options);
    let rows = 0;
    let replaced = false;
    await openBackupAdapter(db).restore(async (target) => {
      // Inside the transaction, with the tables locked: what is checked is what is replaced.
      const state = await inspectTarget(target);
      if (state.tablesWithData.length && !options.force) {
        throw new TesseraError(
          BackupErrors.restore_target_not_empty,
          `The database at ${db.location} holds data (${state.tablesWithData.join(', ')}): restoring would replace it. Restore into an empty database, or pass --force to replace it.`,
          { extensions: { tables: state.tablesWithData } },
        );
      }
      replaced = state.tablesWithData.length > 0;
      if (state.schemaVersion > manifest.schema_version) await dropTesseraSchema(target);
      const upTo = MIGRATIONS.filter((migration) => migration.version <= manifest.schema_version);
      await applyMigrations(db, target.trx, upTo);
      const shapes = await matchShapes(target, manifest);
      await target.empty([...shapes.keys()]);
      rows = await loadParts(target, backup, shapes, options);
      await applyMigrations(db, target.trx, MIGRATIONS);
      // Last: the audit append holds the event log's write lock until the commit.
      await createAuditLog(db).inTransaction(target.trx, options.audit ?? CLI_AUDIT_CONTEXT, [
        {
          tenant_id: 'system',
          action: 'backup.restored',
          target: `backup:${manifest.id}`,
          outcome: 'success',
          details: {
            created_at: manifest.created_at,
            source_engine: manifest.engine,
            schema_version: manifest.schema_version,
            rows,
            replaced_data: replaced,
            // `unsigned` or `unchecked`: an operator let in a backup of unknown origin.
            signature: authenticity,
          },
        },
      ]);
    });
    return { manifest, rows, schemaVersion: MIGRATIONS.at(-1)?.version ?? 0, authenticity };
  } finally {
    await backup.close();
  }
}
