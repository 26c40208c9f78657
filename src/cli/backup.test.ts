import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';
import {
  copyMasterKey,
  dumpTables,
  emptyDatabase,
  masterKeyOf,
} from '../../test/helpers/backup-fixture.ts';
import { call } from '../../test/helpers/events.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { openBackup } from '../backup/read-backup.ts';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';

interface Created {
  id: string;
  path: string;
  size: number;
  events: number;
  head_position: number;
  encrypted: boolean;
}

interface Listed {
  id: string;
  encrypted: boolean | null;
  problem: string | null;
}

const EVENTS_PART = 'tables/events.ndjson.gz';

/** A deployment with a signing key and a few events, and `tessera backup` against it. */
async function deployment(t: TestContext, engine: Engine) {
  const source: TestApp = await buildTestApp({}, engine);
  t.after(() => source.close());
  // A signing key, sealed with the master key: what makes the restore's key check matter.
  await source.services.identity.keys.ensureKey();
  const events = Array.from({ length: 25 }, (_, i) => ({
    entity_id: `order-${i % 5}`,
    event_type: 'Placed',
    payload: { n: i, note: 'ünïcode ✓' },
  }));
  assert.equal((await call(source.app, 'POST', '/events', { events })).status, 201);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-backups-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tessera = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    runAdminCli(source.config.storage, ['backup', ...args], {
      env: { TESSERA_BACKUP_DIR: dir, ...env },
    });
  return { source, dir, tessera };
}

/** `tessera backup <args>` against another database, with the same backup directory. */
function tesseraOn(storage: Config['storage'], dir: string) {
  return (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    runAdminCli(storage, ['backup', ...args], { env: { TESSERA_BACKUP_DIR: dir, ...env } });
}

/** The events table's rows (engine-neutral), without the restore's own audit event. */
async function eventRows(db: Database): Promise<string[]> {
  const rows = (await dumpTables(db)).events ?? [];
  return rows.filter((row) => JSON.parse(row).event_type !== 'backup.restored');
}

async function auditActions(db: Database, action: string) {
  const rows = ((await dumpTables(db)).events ?? []).map((row) => JSON.parse(row));
  return rows.filter((row) => row.event_type === action).map((row) => row.payload);
}

/** A copy of `path` with one byte in the middle of the events part flipped. */
async function damagedCopy(t: TestContext, path: string): Promise<string> {
  const backup = await openBackup(path);
  const entry = backup.entries.get(EVENTS_PART);
  await backup.close();
  assert.ok(entry && entry.size > 0, 'the events part is in the file');
  const bytes = readFileSync(path);
  const at = entry.offset + Math.floor(entry.size / 2);
  bytes[at] = (bytes[at] as number) ^ 0xff;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-damaged-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'damaged.tar');
  writeFileSync(copy, bytes);
  return copy;
}

const base64Key = () => randomBytes(32).toString('base64');

for (const engine of testEngines()) {
  describe(`tessera backup (${engine})`, () => {
    it('creates a backup, lists it, verifies it, and finds a flipped byte', async (t) => {
      const { source, dir, tessera } = await deployment(t, engine);
      const made = await tessera(['create', '--json']);
      const created = jsonOf<Created>(made);
      assert.ok(created.events >= 25, `${created.events} events`);
      assert.ok(created.head_position >= created.events);
      assert.equal(created.encrypted, false);
      assert.ok(existsSync(created.path));
      // Not a terminal: one plain line per table on stderr, never a carriage return.
      assert.match(made.stderr, new RegExp(`^backup events: ${created.events} rows$`, 'm'));
      assert.match(made.stderr, /^backup tenants: \d+ rows$/m);
      assert.ok(!made.stderr.includes('\r'));

      const audit = await auditActions(source.db, 'backup.created');
      assert.deepEqual(
        audit.map((entry) => [entry.target, entry.actor, entry.actor_type]),
        [[`backup:${created.id}`, 'cli', 'cli']],
      );

      const listed = jsonOf<Listed[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        listed.map((b) => [b.id, b.encrypted, b.problem]),
        [[created.id, false, null]],
      );
      const text = await tessera(['list']);
      assert.match(text.stdout, /^ID\s+CREATED_AT\s+SIZE\s+ENGINE\s+SCHEMA_VERSION\s+EVENTS/);
      assert.match(text.stdout, new RegExp(`${created.id}\\s+\\S+\\s+[\\d.]+ KiB\\s+${engine}\\s`));

      const verified = await tessera(['verify', created.path]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(
        verified.stdout,
        new RegExp(
          `^OK: backup ${created.id} \\(created .*\\): \\d+ tables, \\d+ rows, ${created.events} events, signature valid\\n$`,
        ),
      );
      assert.match(verified.stderr, /^verify events: \d+ rows$/m);
      assert.equal(
        (await tessera(['verify', created.id])).code,
        0,
        'an id names a file of the directory',
      );

      // No database is opened: verify works where the backup is, with the database gone.
      const offline = { TESSERA_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/gone' };
      assert.equal((await tessera(['verify', created.path], offline)).code, 0);
      assert.equal(jsonOf<Listed[]>(await tessera(['list', '--json'], offline)).length, 1);

      const damaged = await tessera(['verify', await damagedCopy(t, created.path)]);
      assert.equal(damaged.code, 1);
      assert.match(damaged.stdout, new RegExp(`^${EVENTS_PART}: checksum mismatch`, 'm'));
      assert.match(damaged.stderr, /failed verification \(1 problem\)/);
      // A damaged file in the directory is listed with its problem, not skipped.
      writeFileSync(join(dir, 'tessera-backup-20200101T000000000Z-000000.tar'), 'not a tar');
      const withDamaged = jsonOf<Listed[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        withDamaged.map((b) => [b.id, b.encrypted, b.problem === null]),
        [
          [created.id, false, true],
          ['20200101T000000000Z-000000', null, false],
        ],
      );
      const missing = await tessera(['verify', join(tmpdir(), 'no-such-backup.tar')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^tessera: There is no file /);
    });

    it('restores into an empty database; refuses a wrong master key and a non-empty target', async (t) => {
      const { source, dir, tessera } = await deployment(t, engine);
      const before = await eventRows(source.db);
      const { path, id } = jsonOf<Created>(await tessera(['create', '--json']));
      const target = await emptyDatabase(t, engine);
      const restore = tesseraOn(target.storage, dir);

      const noKey = await restore(['restore', path]);
      assert.equal(noKey.code, 1);
      // The signature is checked first: without the master key, nothing can check it.
      assert.match(noKey.stderr, /^tessera: Backup \S+ is signed .*no key to check it/m);
      assert.ok(!existsSync(join(target.storage.data_dir, 'master.key')), 'none was created');
      const wrongKey = await restore(['restore', path], { TESSERA_MASTER_KEY: base64Key() });
      assert.equal(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /was signed with another key/);

      const sourceKey = {
        TESSERA_MASTER_KEY: masterKeyOf(source.config.storage).toString('base64'),
      };
      const restored = await restore(['restore', path], sourceKey);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(
        restored.stdout,
        new RegExp(`^restored \\d+ rows from backup ${id} \\(created \\S+\\) into `),
      );
      assert.match(restored.stdout, /restart every server on this database/);
      // The file is verified before the target is touched, then loaded.
      assert.match(restored.stderr, /^verify events: \d+ rows\n(.*\n)*restore events: \d+ rows\n/m);
      // Every table gets its line, one without rows too.
      assert.match(restored.stderr, /^restore ip_login_failures: 0 rows$/m);
      assert.ok(!restored.stderr.includes('\r'));
      assert.deepEqual(await eventRows(target.db), before);

      const again = await restore(['restore', id], sourceKey);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^tessera: The database at .* holds data \(.*\).*pass --force/m);
      const forced = await restore(['restore', id, '--force', '--json'], sourceKey);
      const result = jsonOf<{ id: string; rows: number }>(forced);
      assert.equal(result.id, id);
      assert.deepEqual(await eventRows(target.db), before);
    });

    it('encrypts with the configured key, and verify says when the key is missing', async (t) => {
      const { tessera } = await deployment(t, engine);
      const key = { TESSERA_BACKUP_ENCRYPTION_KEY: base64Key() };
      const created = jsonOf<Created>(await tessera(['create', '--json'], key));
      assert.equal(created.encrypted, true);
      const listed = jsonOf<Listed[]>(await tessera(['list', '--json']));
      assert.equal(listed[0]?.encrypted, true);
      assert.equal((await tessera(['verify', created.path], key)).code, 0);

      const without = await tessera(['verify', created.path]);
      assert.equal(without.code, 1);
      assert.match(
        without.stdout,
        /^encryption: Backup \S+ is encrypted: configure backup.encryption_key/,
      );
      const wrong = await tessera(['verify', created.path], {
        TESSERA_BACKUP_ENCRYPTION_KEY: base64Key(),
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stdout, /^encryption: .*encrypted with another key/);
    });

    it('prunes by the rules given, deletes one, and needs a rule to prune', async (t) => {
      const { source, tessera } = await deployment(t, engine);
      const elsewhere = mkdtempSync(join(tmpdir(), 'tessera-out-'));
      t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
      const out = jsonOf<Created>(await tessera(['create', '--out', elsewhere, '--json']));
      assert.equal(out.path, join(elsewhere, `tessera-backup-${out.id}.tar`));
      for (let i = 0; i < 3; i++) assert.equal((await tessera(['create'])).code, 0);
      const ids = jsonOf<Listed[]>(await tessera(['list', '--json'])).map((b) => b.id);
      assert.equal(ids.length, 3, 'the --out backup is not in backup.dir');

      const noRule = await tessera(['prune']);
      assert.equal(noRule.code, 2);
      assert.match(noRule.stderr, /no retention rule: pass --keep <n> or --max-age-days <d>/);
      assert.equal((await tessera(['prune', '--keep', 'two'])).code, 2);

      const pruned = jsonOf<{ deleted: { id: string }[] }>(
        await tessera(['prune', '--keep', '1', '--json']),
      );
      assert.deepEqual(
        pruned.deleted.map((b) => b.id),
        ids.slice(1),
      );
      const left = jsonOf<Listed[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        left.map((b) => b.id),
        ids.slice(0, 1),
      );
      assert.equal((await tessera(['prune', '--keep', '1'])).stdout, 'nothing to delete\n');
      // The configured rule applies when no flag is given.
      assert.equal((await tessera(['prune'], { TESSERA_BACKUP_RETENTION_COUNT: '1' })).code, 0);

      const unknown = await tessera(['delete', '20260101T000000000Z-abcdef']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^tessera: There is no backup 20260101T000000000Z-abcdef in /);
      const deleted = await tessera(['delete', ids[0] as string]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.match(deleted.stdout, new RegExp(`^deleted ${ids[0]} `));
      assert.equal((await tessera(['list'])).stdout, '(none)\n');

      const audit = await auditActions(source.db, 'backup.deleted');
      assert.deepEqual(
        audit.map((entry) => entry.target).sort(),
        ids.map((id) => `backup:${id}`).sort(),
      );
    });
  });

  for (const targetEngine of testEngines()) {
    if (targetEngine === engine) continue;
    describe(`tessera backup restore (${engine} → ${targetEngine})`, () => {
      it('restores into the other engine, with the master.key copied over', async (t) => {
        const { source, dir, tessera } = await deployment(t, engine);
        const before = await eventRows(source.db);
        const { path, id } = jsonOf<Created>(await tessera(['create', '--json']));
        const target = await emptyDatabase(t, targetEngine);
        copyMasterKey(source.config.storage, target.storage);
        // A file outside the backup directory, named by its path.
        copyFileSync(path, join(target.storage.data_dir, 'copy.tar'));
        const restored = await tesseraOn(
          target.storage,
          dir,
        )(['restore', join(target.storage.data_dir, 'copy.tar')]);
        assert.equal(restored.code, 0, restored.stderr);
        assert.match(restored.stdout, new RegExp(`from backup ${id} `));
        assert.deepEqual(await eventRows(target.db), before);
      });
    });
  }
}
