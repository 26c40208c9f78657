import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import {
  copyMasterKey,
  dumpBackup,
  emptyDatabase,
  masterKeyOf,
  signingKeyOf,
  TEST_SIGNING_KEY,
} from '../../test/helpers/backup-fixture.ts';
import { forgeRows, type Resign } from '../../test/helpers/backup-forge.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { buildApp } from '../app.ts';
import { composeServices } from '../composition-root.ts';
import type { Config } from '../config/schema.ts';
import { hashPassword } from '../identity/login/passwords.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrationStatus } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { bootstrapPlatformAdmin } from '../tenancy/users/bootstrap-admin.ts';
import { backupSigningKey, parseSigningKey, signingKey } from './backup-signature.ts';
import { restoreBackup } from './restore.ts';
import { createBackupService } from './service.ts';
import { verifyBackup } from './verify-backup.ts';
import { createBackup } from './write-backup.ts';

const ADMIN = 'root@example.com';
const PASSWORD = 'the-real-admin-password';
const FORGED = 'the-forger-knows-this-one';
const SILENT = { info() {}, warn() {} };

/** A deployment with a platform administrator, and a signed backup of it. */
async function deployment(t: TestContext, engine: Engine) {
  const source = await buildTestApp({}, engine);
  t.after(() => source.close());
  const env = { TESSERA_ADMIN_EMAIL: ADMIN, TESSERA_ADMIN_PASSWORD: PASSWORD };
  assert.equal(await bootstrapPlatformAdmin(source.db, env, SILENT), 'created');
  await source.services.identity.keys.ensureKey();
  const key = signingKeyOf(source.config.storage);
  const dir = tempDirFor(t, 'tessera-backup-');
  const file = await createBackup(source.db, { dir, signingKey: key });
  return { source, file, dir, key };
}

/** The attack of issue 15: the administrator's password hash replaced, checksums recomputed. */
async function forgedAdmin(path: string, dir: string, signature: Resign): Promise<string> {
  const forgedHash = await hashPassword(FORGED);
  const copy = join(dir, `forged-${randomBytes(3).toString('hex')}.tar`);
  await forgeRows(path, copy, {
    table: 'users',
    signature,
    change(rows, columns) {
      const email = columns.indexOf('email');
      const hash = columns.indexOf('password_hash');
      const admin = rows.find((row) => row[email] === ADMIN);
      assert.ok(admin, 'the administrator is in the backup');
      admin[hash] = forgedHash;
    },
  });
  return copy;
}

/** Signs in on a server built on a restored database, with the master key of its data dir. */
async function login(t: TestContext, config: Config, db: Database, password: string) {
  const env = { TESSERA_MASTER_KEY: masterKeyOf(config.storage).toString('base64') };
  const app = await buildApp({ config, db, services: composeServices(db, config, env) });
  t.after(() => app.close());
  const reply = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: ADMIN, password },
  });
  return reply.statusCode;
}

async function untouched(db: Database) {
  assert.equal((await migrationStatus(db, MIGRATIONS)).current, 0, 'the target is untouched');
}

for (const engine of testEngines()) {
  describe(`backup signatures (${engine})`, () => {
    it('refuses a backup whose users part was forged and its checksums recomputed', async (t) => {
      const { source, file, dir, key } = await deployment(t, engine);
      // The key is not in the backup: neither the master key nor the key derived from it.
      const rows = JSON.stringify(await dumpBackup(file.path));
      const master = masterKeyOf(source.config.storage);
      for (const secret of [master.toString('base64'), key.key.toString('base64')]) {
        assert.ok(!rows.includes(secret), 'no key in the backup');
      }
      const forged = await forgedAdmin(file.path, dir, { stale: true });
      // Every checksum the format has agrees with the forged file: only the MAC does not.
      const report = await verifyBackup(forged, { signingKey: key });
      assert.deepEqual(
        report.problems.map((p) => [p.part, p.code]),
        [['signature', 'backup_signature_invalid']],
      );
      assert.match(report.problems[0]?.message ?? '', /does not match its signature/);
      const target = await emptyDatabase(t, engine);
      copyMasterKey(source.config.storage, target.storage);
      const masterKey = masterKeyOf(target.storage);
      for (const allowUnsigned of [false, true]) {
        await assert.rejects(
          restoreBackup(target.db, forged, { signingKey: key, masterKey, allowUnsigned }),
          { code: 'backup_signature_invalid' },
        );
      }
      await untouched(target.db);
      // The untouched backup still verifies and restores; its password still signs in.
      assert.equal((await verifyBackup(file.path, { signingKey: key })).authenticity, 'signed');
      const result = await restoreBackup(target.db, file.path, { signingKey: key, masterKey });
      assert.equal(result.authenticity, 'signed');
      const config = { ...source.config, storage: target.storage };
      assert.equal(await login(t, config, target.db, PASSWORD), 200);
      assert.equal(await login(t, config, target.db, FORGED), 401);
    });

    it('refuses the same forgery made to look unsigned, unless told to accept unsigned backups', async (t) => {
      const { source, file, dir, key } = await deployment(t, engine);
      const unsigned = await forgedAdmin(file.path, dir, { unsigned: true });
      const report = await verifyBackup(unsigned, { signingKey: key });
      assert.deepEqual(
        report.problems.map((p) => [p.part, p.code]),
        [['signature', 'backup_unsigned']],
      );
      const target = await emptyDatabase(t, engine);
      copyMasterKey(source.config.storage, target.storage);
      const masterKey = masterKeyOf(target.storage);
      await assert.rejects(restoreBackup(target.db, unsigned, { signingKey: key, masterKey }), {
        code: 'backup_unsigned',
        message: /--allow-unsigned/,
      });
      await untouched(target.db);
      // What the override lets in is the operator's call, and it is on the record:
      // here the forged password would sign in, which is why it is refused by default.
      const allowed = { signingKey: key, allowUnsigned: true };
      const verified = await verifyBackup(unsigned, allowed);
      assert.deepEqual([verified.problems, verified.authenticity], [[], 'unsigned']);
      const result = await restoreBackup(target.db, unsigned, { ...allowed, masterKey });
      assert.equal(result.authenticity, 'unsigned');
      const audit = await target.db.kysely
        .selectFrom('events')
        .select('payload')
        .where('event_type', '=', 'backup.restored')
        .execute();
      assert.equal(audit.length, 1);
      const payload = audit[0]?.payload;
      const details = (typeof payload === 'string' ? JSON.parse(payload) : payload).details;
      assert.equal(details.signature, 'unsigned');
      const config = { ...source.config, storage: target.storage };
      assert.equal(await login(t, config, target.db, FORGED), 200);
    });

    it('refuses a backup signed with another key, and says when no key is configured', async (t) => {
      const { source, dir, key } = await deployment(t, engine);
      const other = await createBackup(source.db, { dir, signingKey: TEST_SIGNING_KEY });
      const wrong = await verifyBackup(other.path, { signingKey: key });
      assert.deepEqual(
        wrong.problems.map((p) => p.code),
        ['backup_signature_invalid'],
      );
      assert.match(wrong.problems[0]?.message ?? '', /signed with another key/);
      const target = await emptyDatabase(t, engine);
      const masterKey = masterKeyOf(source.config.storage);
      await assert.rejects(restoreBackup(target.db, other.path, { signingKey: key, masterKey }), {
        code: 'backup_signature_invalid',
      });
      // Another deployment's master key derives another key: the restore refuses it too.
      const elsewhere = backupSigningKey('', randomBytes(32));
      await assert.rejects(
        restoreBackup(target.db, other.path, { signingKey: elsewhere, masterKey }),
        { code: 'backup_signature_invalid' },
      );
      const none = await verifyBackup(other.path, { signingKey: undefined });
      assert.deepEqual(
        none.problems.map((p) => p.code),
        ['backup_signing_key_required'],
      );
      // Allowed: accepted, as a backup whose signature nobody checked.
      const unchecked = await verifyBackup(other.path, { signingKey: key, allowUnsigned: true });
      assert.deepEqual([unchecked.problems, unchecked.authenticity], [[], 'unchecked']);
      await untouched(target.db);
    });

    it('signs with backup.signing_key when it is set, which verifies whatever the master key', async (t) => {
      const source = await buildTestApp({}, engine);
      t.after(() => source.close());
      const configured = randomBytes(32).toString('base64');
      const dir = tempDirFor(t, 'tessera-backup-');
      const backup = { ...source.config.backup, dir, signing_key: configured };
      const config = { ...source.config, backup };
      const service = createBackupService({ db: source.db, config, audit: source.services.audit });
      const file = await service.create(CLI_AUDIT_CONTEXT);
      assert.deepEqual(file.manifest.signature?.key_source, 'signing_key');
      const explicit = signingKey(parseSigningKey(configured) as Buffer, 'signing_key');
      assert.equal(file.manifest.signature?.key_id, explicit.id);
      const checked = await verifyBackup(file.path, {
        signingKey: backupSigningKey(configured, randomBytes(32)),
      });
      assert.deepEqual([checked.problems, checked.authenticity], [[], 'signed']);
    });
  });
}
