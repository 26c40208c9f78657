import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  backupsToPrune,
  createdAtOf,
  deleteBackup,
  findBackup,
  listBackups,
  pruneBackups,
} from './backup-dir.ts';
import { backupFileName, newBackupId } from './backup-names.ts';
import { NotARegularFile, openBackup } from './read-backup.ts';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const DAY = 86_400_000;

/** Ids of backups made `ages` days before NOW, newest first. */
function idsAged(...ages: number[]): { id: string }[] {
  return ages.map((age, i) => ({
    id: newBackupId(new Date(NOW.getTime() - age * DAY), `00000${i}`),
  }));
}

describe('retention', () => {
  const backups = idsAged(0.5, 1.5, 3, 8, 40);

  it('keeps the newest N', () => {
    const doomed = backupsToPrune(backups, { keepCount: 2, keepDays: 0 }, NOW);
    assert.deepEqual(doomed, backups.slice(2));
  });

  it('keeps those younger than D days', () => {
    const doomed = backupsToPrune(backups, { keepCount: 0, keepDays: 7 }, NOW);
    assert.deepEqual(doomed, backups.slice(3));
  });

  it('keeps what either rule keeps', () => {
    assert.deepEqual(backupsToPrune(backups, { keepCount: 4, keepDays: 2 }, NOW), backups.slice(4));
    assert.deepEqual(backupsToPrune(backups, { keepCount: 1, keepDays: 4 }, NOW), backups.slice(3));
  });

  it('always keeps the newest backup, however old', () => {
    const old = idsAged(30, 60);
    assert.deepEqual(backupsToPrune(old, { keepCount: 0, keepDays: 7 }, NOW), old.slice(1));
  });

  it('deletes nothing without a rule', () => {
    assert.deepEqual(backupsToPrune(backups, { keepCount: 0, keepDays: 0 }, NOW), []);
  });

  it('reads the creation time from the id', () => {
    assert.equal(
      createdAtOf('20261126T031500123Z-a1b2c3').toISOString(),
      '2026-11-26T03:15:00.123Z',
    );
  });
});

describe('the backup directory', () => {
  it('lists backup files newest first, prunes them, and ignores other files', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-backups-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const backups = idsAged(0, 2, 9);
    for (const { id } of [...backups].reverse()) writeFileSync(join(dir, backupFileName(id)), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    writeFileSync(join(dir, '.tessera-backup-20261126T000000000Z-abcdef.tar.partial'), '');
    const listed = await listBackups(dir);
    assert.deepEqual(
      listed.map((backup) => backup.id),
      backups.map((backup) => backup.id),
    );
    // Not real backups: listed, with what is wrong with them.
    assert.match(listed[0]?.problem ?? '', /archive/);
    const deleted = await pruneBackups(dir, { keepCount: 0, keepDays: 5 }, NOW);
    assert.deepEqual(
      deleted.map((backup) => backup.id),
      [backups[2]?.id],
    );
    assert.equal(readdirSync(dir).length, 4);
    assert.deepEqual(await listBackups(join(dir, 'missing')), []);
  });

  it('finds a backup only by a well-formed id', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-backups-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const id of ['../../etc/passwd', '20261126T031500123Z-a1b2c3', '']) {
      await assert.rejects(findBackup(dir, id), { code: 'backup_not_found' });
    }
  });

  it('never lists, finds, opens, deletes or prunes a symbolic link or a directory', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'tessera-backups-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'backups');
    mkdirSync(dir);
    // What issue 15 found: a link named like a backup, to the master key beside it.
    const secret = join(root, 'master.key');
    writeFileSync(secret, 'the master key', { mode: 0o600 });
    const [real, linked, folder] = idsAged(3, 2, 1).map((backup) => backup.id) as string[];
    writeFileSync(join(dir, backupFileName(real as string)), 'x');
    const link = join(dir, backupFileName(linked as string));
    symlinkSync(secret, link);
    mkdirSync(join(dir, backupFileName(folder as string)));

    const listed = await listBackups(dir);
    assert.deepEqual(
      listed.map((backup) => backup.id),
      [real],
    );
    for (const id of [linked, folder] as string[]) {
      await assert.rejects(findBackup(dir, id), { code: 'backup_not_found' });
      await assert.rejects(deleteBackup(dir, id), { code: 'backup_not_found' });
    }
    await assert.rejects(openBackup(link), NotARegularFile);
    const pruned = await pruneBackups(dir, { keepCount: 0, keepDays: 0.5 }, NOW);
    assert.deepEqual(
      pruned.map((backup) => backup.id),
      [],
      'the only real backup is the newest: kept',
    );
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is left alone');
    assert.ok(existsSync(secret), 'and what it points to');
  });
});
