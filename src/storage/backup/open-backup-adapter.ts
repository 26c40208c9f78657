import type { Database } from '../open-database.ts';
import type { BackupAdapter } from './adapter.ts';
import { createPostgresBackup } from './postgres-backup.ts';
import { createSqliteBackup } from './sqlite-backup.ts';

/** The backup adapter of the database's engine. */
export function openBackupAdapter(db: Database): BackupAdapter {
  return db.byEngine<BackupAdapter>({ sqlite: createSqliteBackup, postgres: createPostgresBackup });
}
