import { MIGRATIONS } from '../migrations/index.ts';
import { TesseraError } from '../platform/errors.ts';
import { openBackupAdapter } from '../storage/backup/open-backup-adapter.ts';
import { applyMigrations } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { type Authenticity, checkSignature } from './backup-signature.ts';
import { openChecked } from './check-backup.ts';
import { BackupErrors } from './errors.ts';
import { loadParts } from './load-parts.ts';
import type { Manifest } from './manifest.ts';
import type { OnProgress } from './progress.ts';
import { partChecksum, requireKey } from './read-backup.ts';
import type { BackupKeys } from './verify-backup.ts';

/**
 * The tables a ledger verification reads: the events with their hashes, the heads,
 * the signed checkpoints, and the signing keys whose public halves verify them (their
 * private halves stay sealed: nothing here opens them).
 */
const LEDGER_TABLES = ['events', 'ledger_heads', 'ledger_checkpoints', 'signing_keys'];

/** The first schema version with a chain (migration 0018). */
const LEDGER_SCHEMA_VERSION = 18;

export interface LoadedLedger {
  readonly manifest: Manifest;
  readonly authenticity: Authenticity;
  readonly rows: number;
}

/**
 * Loads a backup's event log, ledger heads, checkpoints and signing keys, and nothing
 * else, into `scratch` (an empty database of either engine), so that the ledger's
 * verifier can read them as it reads a live database. No master key is needed: the
 * signing keys' sealed private halves are copied as they are, never opened, and no
 * audit event is appended (it would join a chain under test). The backup's signature
 * is checked when a key to check it is configured and ignored otherwise: the chain is
 * the evidence here, and it holds without it. Each part read is checked against its
 * SHA-256 first.
 */
export async function loadLedgerFromBackup(
  scratch: Database,
  path: string,
  keys: BackupKeys,
  onProgress?: OnProgress,
): Promise<LoadedLedger> {
  const backup = await openChecked(path);
  try {
    const { manifest } = backup;
    const authenticity = checkSignature(backup, { ...keys, allowUnsigned: true });
    requireKey(manifest, keys.key);
    if (manifest.schema_version < LEDGER_SCHEMA_VERSION) {
      throw new TesseraError(
        BackupErrors.backup_invalid,
        `Backup ${manifest.id} has schema version ${manifest.schema_version}, before the ledger (${LEDGER_SCHEMA_VERSION}): its events carry no chain to verify.`,
      );
    }
    const parts = manifest.tables.filter((part) => LEDGER_TABLES.includes(part.table));
    for (const part of parts) {
      if ((await partChecksum(backup, part)) !== part.sha256) {
        throw new TesseraError(
          BackupErrors.backup_invalid,
          `The backup ${path} is damaged: ${part.part} does not match its SHA-256.`,
        );
      }
    }
    let rows = 0;
    await openBackupAdapter(scratch).restore(async (target) => {
      const upTo = MIGRATIONS.filter((migration) => migration.version <= manifest.schema_version);
      await applyMigrations(scratch, target.trx, upTo);
      rows = await loadParts(target, backup, new Map(), { key: keys.key, onProgress }, parts);
      await applyMigrations(scratch, target.trx, MIGRATIONS);
    });
    return { manifest, authenticity, rows };
  } finally {
    await backup.close();
  }
}
