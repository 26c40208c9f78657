import type { BackupListing } from '../backup/backup-dir.ts';
import type { BackupFile } from '../backup/write-backup.ts';

// What `tessera backup list` and `create` print, moved out of backup.ts so the command
// definitions read apart from the shape of their output.

export const LIST_COLUMNS = [
  'id',
  'created_at',
  'size',
  'engine',
  'schema_version',
  'events',
  'encrypted',
  'signature',
  'problem',
];

/** 1536 → `1.5 KiB`: for people; --json gives bytes. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function listed(backup: BackupListing, json: boolean | undefined): Record<string, unknown> {
  const m = backup.manifest;
  return {
    id: backup.id,
    created_at: backup.created_at,
    size: json ? backup.size : formatBytes(backup.size),
    engine: m?.engine ?? null,
    schema_version: m?.schema_version ?? null,
    tessera_version: m?.tessera_version ?? null,
    events: m?.events.count ?? null,
    head_position: m?.events.head_position ?? null,
    encrypted: m ? m.encryption !== null : null,
    signature: backup.signature ?? null,
    path: backup.path,
    problem: backup.problem ?? null,
  };
}

export function created(file: BackupFile, json: boolean | undefined): Record<string, unknown> {
  const { manifest } = file;
  return {
    id: file.id,
    path: file.path,
    size: json ? file.size : formatBytes(file.size),
    created_at: manifest.created_at,
    engine: manifest.engine,
    schema_version: manifest.schema_version,
    events: manifest.events.count,
    head_position: manifest.events.head_position,
    encrypted: manifest.encryption !== null,
  };
}
