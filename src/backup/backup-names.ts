/**
 * Backup ids are the UTC creation time to the millisecond and 6 random hex digits,
 * `20261126T031500123Z-a1b2c3`: they sort by age, and the strict pattern keeps an id
 * from a request from naming any other file.
 */
export const BACKUP_ID_PATTERN = '^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$';
const ID = new RegExp(BACKUP_ID_PATTERN);
const FILE = /^tessera-backup-([0-9]{8}T[0-9]{9}Z-[0-9a-f]{6})\.tar$/;

export function newBackupId(now: Date, random: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${random}`;
}

export function isBackupId(value: string): boolean {
  return ID.test(value);
}

export function backupFileName(id: string): string {
  return `tessera-backup-${id}.tar`;
}

/** The id a backup file name carries, or undefined for any other file. */
export function backupIdOf(fileName: string): string | undefined {
  return FILE.exec(fileName)?.[1];
}
