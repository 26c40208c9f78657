import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of backup and restore; documented in docs/errors.md. */
export const BackupErrors = defineErrorCodes({
  backup_not_found: { status: 404, title: 'Backup not found' },
  backup_in_progress: { status: 409, title: 'Backup in progress' },
  backup_invalid: { status: 422, title: 'Backup invalid' },
  backup_key_required: { status: 422, title: 'Backup key required' },
  backup_key_mismatch: { status: 422, title: 'Backup key mismatch' },
  backup_schema_newer: { status: 422, title: 'Backup from a newer schema' },
  backup_unsigned: { status: 422, title: 'Backup not signed' },
  backup_signature_invalid: { status: 422, title: 'Backup signature invalid' },
  backup_signing_key_required: { status: 422, title: 'Backup signing key required' },
  backup_master_key_mismatch: { status: 422, title: 'Master key mismatch' },
  restore_target_not_empty: { status: 409, title: 'Restore target not empty' },
  backup_dir_unusable: { status: 503, title: 'Backup directory unusable' },
  backup_storage_full: { status: 507, title: 'Backup storage full' },
});
