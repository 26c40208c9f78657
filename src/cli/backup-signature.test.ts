import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { buildTestApp } from '../../test/helpers/app.ts';
import { emptyDatabase, masterKeyOf } from '../../test/helpers/backup-fixture.ts';
import { forgeRows, type Resign } from '../../test/helpers/backup-forge.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { backupFileName } from '../backup/backup-names.ts';
import { hashPassword } from '../identity/login/passwords.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrationStatus } from '../storage/migrate.ts';
import { bootstrapPlatformAdmin } from '../tenancy/users/bootstrap-admin.ts';

const ADMIN = 'root@example.com';

/** A deployment with a platform administrator, its backup directory, and `tessera backup`. */
async function deployment(t: TestContext, engine: Engine) {
  const source = await buildTestApp({}, engine);
  t.after(() => source.close());
  const admin = { TESSERA_ADMIN_EMAIL: ADMIN, TESSERA_ADMIN_PASSWORD: 'the-real-password' };
  await bootstrapPlatformAdmin(source.db, admin, { info() {}, warn() {} });
  await source.services.identity.keys.ensureKey();
  const dir = tempDirFor(t, 'tessera-backups-');
  const tessera = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    runAdminCli(source.config.storage, ['backup', ...args], {
      env: { TESSERA_BACKUP_DIR: dir, ...env },
    });
  const masterKey = { TESSERA_MASTER_KEY: masterKeyOf(source.config.storage).toString('base64') };
  return { source, dir, tessera, masterKey };
}

/** The administrator's password hash replaced in a copy, every checksum recomputed. */
async function forged(t: TestContext, path: string, signature: Resign): Promise<string> {
  const hash = await hashPassword('the-forger-knows-this-one');
  const copy = join(tempDirFor(t, 'tessera-forged-'), 'forged.tar');
  await forgeRows(path, copy, {
    table: 'users',
    signature,
    change(rows, columns) {
      const admin = rows.find((row) => row[columns.indexOf('email')] === ADMIN) as unknown[];
      admin[columns.indexOf('password_hash')] = hash;
    },
  });
  return copy;
}

/** `tessera backup <args>` against a fresh, empty database of `engine`. */
async function onEmptyTarget(t: TestContext, engine: Engine, dir: string) {
  const target = await emptyDatabase(t, engine);
  const tessera = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    runAdminCli(target.storage, ['backup', ...args], { env: { TESSERA_BACKUP_DIR: dir, ...env } });
  const untouched = async () =>
    assert.equal((await migrationStatus(target.db, MIGRATIONS)).current, 0, 'target untouched');
  return { target, tessera, untouched };
}

for (const engine of testEngines()) {
  describe(`tessera backup signatures (${engine})`, () => {
    it('verify and restore refuse a forged users part, even with --allow-unsigned', async (t) => {
      const { dir, tessera, masterKey } = await deployment(t, engine);
      const { path } = jsonOf<{ path: string }>(await tessera(['create', '--json']));
      const listed = jsonOf<{ signature: string }[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        listed.map((backup) => backup.signature),
        ['valid'],
      );
      const copy = await forged(t, path, { stale: true });
      const verified = await tessera(['verify', copy]);
      assert.equal(verified.code, 1);
      assert.match(verified.stdout, /^signature: Backup \S+ does not match its signature/m);
      const target = await onEmptyTarget(t, engine, dir);
      for (const flags of [[], ['--allow-unsigned']]) {
        const restored = await target.tessera(['restore', copy, ...flags], masterKey);
        assert.equal(restored.code, 1);
        assert.match(restored.stderr, /^tessera: Backup \S+ does not match its signature/m);
      }
      await target.untouched();
    });

    it('refuses an unsigned backup unless --allow-unsigned, and warns when it lets one in', async (t) => {
      const { dir, tessera, masterKey } = await deployment(t, engine);
      const { path, id } = jsonOf<{ path: string; id: string }>(
        await tessera(['create', '--json']),
      );
      const unsigned = await forged(t, path, { unsigned: true });
      const refused = await tessera(['verify', unsigned]);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /^signature: Backup \S+ is not signed .*--allow-unsigned/m);
      const allowed = await tessera(['verify', unsigned, '--allow-unsigned']);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match(allowed.stdout, /unsigned: origin not checked\n$/);
      assert.match(allowed.stderr, new RegExp(`warning: backup ${id} is not signed`));

      const target = await onEmptyTarget(t, engine, dir);
      const restoreRefused = await target.tessera(['restore', unsigned], masterKey);
      assert.equal(restoreRefused.code, 1);
      assert.match(restoreRefused.stderr, /is not signed/);
      await target.untouched();
      const restored = await target.tessera(
        ['restore', unsigned, '--allow-unsigned', '--json'],
        masterKey,
      );
      assert.equal(jsonOf<{ signature: string }>(restored).signature, 'unsigned');
      assert.match(restored.stderr, /warning: backup \S+ is not signed; accepted/);
    });

    it('checks with backup.signing_key, which works where the master key differs', async (t) => {
      const { dir, tessera, masterKey } = await deployment(t, engine);
      const signingKey = { TESSERA_BACKUP_SIGNING_KEY: randomBytes(32).toString('base64') };
      const { id } = jsonOf<{ id: string }>(await tessera(['create', '--json'], signingKey));
      const target = await onEmptyTarget(t, engine, dir);
      // A host without the deployment's master key verifies with the signing key alone.
      assert.equal((await target.tessera(['verify', id], signingKey)).code, 0);
      const derived = await target.tessera(['verify', id], masterKey);
      assert.equal(derived.code, 1);
      assert.match(derived.stdout, /signed with another key .*a backup\.signing_key/);
      // The signature checks out; the restore still needs the master key for the signing keys.
      const otherMaster = { TESSERA_MASTER_KEY: randomBytes(32).toString('base64') };
      const wrongMaster = await target.tessera(['restore', id], { ...signingKey, ...otherMaster });
      assert.equal(wrongMaster.code, 1);
      assert.match(wrongMaster.stderr, /does not open with the target's master key/);
      await target.untouched();
      const restored = await target.tessera(['restore', id], { ...signingKey, ...masterKey });
      assert.equal(restored.code, 0, restored.stderr);
    });

    it('never lists, verifies or restores a symbolic link named like a backup', async (t) => {
      const { source, dir, tessera, masterKey } = await deployment(t, engine);
      const id = '20991231T235959999Z-abcdef';
      const file = join(source.config.storage.data_dir, 'master.key');
      assert.ok(existsSync(file));
      symlinkSync(file, join(dir, backupFileName(id)));
      assert.equal((await tessera(['list'])).stdout, '(none)\n');
      const verified = await tessera(['verify', id]);
      assert.equal(verified.code, 1);
      assert.match(verified.stderr, /^tessera: There is no backup /m);
      const target = await onEmptyTarget(t, engine, dir);
      const restored = await target.tessera(['restore', id], masterKey);
      assert.equal(restored.code, 1);
      assert.match(restored.stderr, /^tessera: There is no backup /m);
      assert.equal((await tessera(['delete', id])).code, 1);
      await target.untouched();
    });
  });
}
