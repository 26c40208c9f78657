import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { signingKeyOf } from '../../test/helpers/backup-fixture.ts';
import { forgeRows } from '../../test/helpers/backup-forge.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import {
  type Credential,
  type TenancyTestApp,
  tenancyTestApp,
} from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';
import { backupFileName } from './backup-names.ts';
import { verifyBackup } from './verify-backup.ts';

async function backupApp(t: TestContext, engine: Engine) {
  const dir = tempDirFor(t, 'tessera-backups-');
  return { dir, test: await tenancyTestApp(t, engine, { backup: { dir } }) };
}

function download(test: TenancyTestApp, id: string, as: Credential) {
  return test.app.inject({
    method: 'GET',
    url: `/api/v1/backups/${id}`,
    headers: as && 'key' in as ? { 'x-api-key': as.key } : {},
  });
}

async function auditActions(test: TenancyTestApp, action: string) {
  const reply = await test.send('GET', `/audit?action=${action}`, test.platform);
  assert.equal(reply.status, 200);
  return reply.body.events as { payload: { target: string; actor: string } }[];
}

const SUMMARY_KEYS = [
  'created_at',
  'encrypted',
  'engine',
  'events',
  'id',
  'problem',
  'schema_version',
  'signature',
  'size_bytes',
  'tables',
  'tessera_version',
];

for (const engine of testEngines()) {
  describe(`backup routes (${engine})`, () => {
    it('creates, lists, downloads and deletes a backup, each audited', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      const created = await send('POST', '/backups', platform);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const backup = created.body as Record<string, unknown> & { id: string };
      assert.deepEqual(Object.keys(backup).sort(), SUMMARY_KEYS);
      const path = join(dir, backupFileName(backup.id));
      assert.equal(backup.size_bytes, statSync(path).size);
      assert.equal(backup.engine, engine);
      assert.equal(backup.encrypted, false);
      assert.equal(backup.problem, null);
      assert.equal(backup.signature, 'valid');
      const tables = backup.tables as { table: string; rows: number; sha256: string }[];
      assert.ok(tables.some((part) => part.table === 'tenants' && part.rows >= 1));
      assert.deepEqual(Object.keys(tables[0] ?? {}).sort(), ['bytes', 'rows', 'sha256', 'table']);

      const listed = await send('GET', '/backups', platform);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body, { backups: [backup], next_cursor: null });

      const file = await download(test, backup.id, platform);
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'application/x-tar');
      assert.equal(
        file.headers['content-disposition'],
        `attachment; filename="tessera-backup-${backup.id}.tar"`,
      );
      assert.equal(Number(file.headers['content-length']), backup.size_bytes);
      assert.deepEqual(file.rawPayload, readFileSync(path));
      // Sent as stored, whatever the client accepts: the parts are compressed already.
      const gzipAccepted = await test.app.inject({
        url: `/api/v1/backups/${backup.id}`,
        headers: { 'x-api-key': (platform as { key: string }).key, 'accept-encoding': 'gzip' },
      });
      assert.equal(gzipAccepted.headers['content-encoding'], undefined);
      assert.deepEqual(gzipAccepted.rawPayload, file.rawPayload);
      const head = await test.app.inject({
        method: 'HEAD',
        url: `/api/v1/backups/${backup.id}`,
        headers: { 'x-api-key': (platform as { key: string }).key },
      });
      assert.equal(head.statusCode, 405);
      const copy = join(tempDirFor(t, 'tessera-download-'), 'copy.tar');
      writeFileSync(copy, file.rawPayload);
      const report = await verifyBackup(copy, { signingKey: signingKeyOf(test.config.storage) });
      assert.deepEqual(report.problems, []);
      assert.equal(report.manifest?.id, backup.id);

      assert.equal((await send('DELETE', `/backups/${backup.id}`, platform)).status, 204);
      assert.deepEqual(readdirSync(dir), []);
      assert.equal((await send('GET', `/backups/${backup.id}`, platform)).status, 404);

      for (const [action, count] of [
        ['backup.created', 1],
        ['backup.downloaded', 2],
        ['backup.deleted', 1],
      ] as const) {
        const events = await auditActions(test, action);
        assert.equal(events.length, count, action);
        assert.equal(events[0]?.payload.target, `backup:${backup.id}`);
      }
    });

    it('pages newest first and lists a damaged file with its problem', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      const ids: string[] = [];
      for (let n = 0; n < 3; n++) {
        ids.unshift(((await send('POST', '/backups', platform)).body as { id: string }).id);
      }
      // A name a backup could have, holding something else.
      const damagedId = '20991231T235959999Z-abcdef';
      writeFileSync(join(dir, backupFileName(damagedId)), 'not a tar');
      writeFileSync(join(dir, 'notes.txt'), 'not a backup name: never listed');

      const first = await send('GET', '/backups?limit=2', platform);
      assert.equal(first.status, 200);
      const firstPage = first.body.backups as Record<string, unknown>[];
      assert.deepEqual(
        firstPage.map((backup) => backup.id),
        [damagedId, ids[0]],
      );
      const damaged = firstPage[0] as Record<string, unknown>;
      assert.equal(typeof damaged.problem, 'string');
      assert.equal(damaged.size_bytes, 9);
      assert.equal(damaged.created_at, '2099-12-31T23:59:59.999Z');
      for (const key of [
        'engine',
        'schema_version',
        'tessera_version',
        'encrypted',
        'events',
        'signature',
      ]) {
        assert.equal(damaged[key], null, key);
      }
      assert.equal(first.body.next_cursor, ids[0]);

      const second = await send('GET', `/backups?limit=2&after=${ids[0]}`, platform);
      const secondIds = (second.body.backups as { id: string }[]).map((backup) => backup.id);
      assert.deepEqual(secondIds, ids.slice(1));
      assert.equal(second.body.next_cursor, ids[2]);
      const last = await send('GET', `/backups?limit=2&after=${ids[2]}`, platform);
      assert.deepEqual(last.body, { backups: [], next_cursor: null });

      assert.equal((await send('GET', '/backups?limit=101', platform)).status, 400);
      assert.equal((await send('GET', '/backups?limit=0', platform)).status, 400);
    });

    it('refuses callers without credentials (401) and ordinary tenant admins (403)', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      const id = ((await send('POST', '/backups', platform)).body as { id: string }).id;
      const acmeAdmin = await test.keyFor('acme');
      const requests = [
        ['POST', '/backups'],
        ['GET', '/backups'],
        ['GET', `/backups/${id}`],
        ['DELETE', `/backups/${id}`],
      ] as const;
      for (const [method, url] of requests) {
        const anonymous = await send(method, url, null);
        assert.equal(anonymous.status, 401, `${method} ${url}`);
        const tenantAdmin = await send(method, url, acmeAdmin);
        assert.equal(tenantAdmin.status, 403, `${method} ${url}`);
        assert.equal(tenantAdmin.body.code, 'permission_denied');
      }
      assert.deepEqual(readdirSync(dir), [backupFileName(id)]);
    });

    it('answers 404 for an unknown id and for path tricks, on download and delete', async (t) => {
      const { test } = await backupApp(t, engine);
      const { send, platform } = test;
      for (const id of [
        '20261126T031500123Z-a1b2c3',
        '..%2F..%2Fetc%2Fpasswd',
        '..%2F..%2F..%2F..%2F..%2Fetc%2Fhostname',
        'tessera-backup-20261126T031500123Z-a1b2c3.tar',
        '%2Fetc%2Fpasswd',
      ]) {
        const got = await download(test, id, platform);
        assert.equal(got.statusCode, 404, id);
        assert.equal(got.json().code, 'backup_not_found', id);
        const deleted = await send('DELETE', `/backups/${id}`, platform);
        assert.equal(deleted.status, 404, id);
        assert.equal(deleted.body.code, 'backup_not_found', id);
      }
      assert.deepEqual(await auditActions(test, 'backup.downloaded'), []);
    });

    it('never lists or sends a symbolic link named like a backup (to master.key)', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      const masterKey = join(test.config.storage.data_dir, 'master.key');
      assert.ok(statSync(masterKey).isFile(), 'the deployment has its master.key');
      const id = '20991231T235959999Z-abcdef';
      symlinkSync(masterKey, join(dir, backupFileName(id)));
      const listed = await send('GET', '/backups', platform);
      assert.deepEqual(listed.body, { backups: [], next_cursor: null });
      const got = await download(test, id, platform);
      assert.equal(got.statusCode, 404);
      assert.equal(got.json().code, 'backup_not_found');
      assert.ok(!got.rawPayload.includes(readFileSync(masterKey)), 'the key is not sent');
      const deleted = await send('DELETE', `/backups/${id}`, platform);
      assert.equal(deleted.status, 404);
      assert.deepEqual(readdirSync(dir), [backupFileName(id)]);
      assert.deepEqual(await auditActions(test, 'backup.downloaded'), []);
    });

    it('lists a forged backup as `invalid` and an unsigned one as `unsigned`', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      const made = await send('POST', '/backups', platform);
      const path = join(dir, backupFileName(made.body.id as string));
      const drop = (rows: unknown[][]) => void rows.pop();
      const forged = '20991231T235959999Z-abcdef';
      const unsigned = '20991231T235959999Z-fedcba';
      for (const [id, signature] of [
        [forged, { stale: true }],
        [unsigned, { unsigned: true }],
      ] as const) {
        const copy = join(dir, backupFileName(id));
        await forgeRows(path, copy, { table: 'tenants', change: drop, signature });
      }
      const listed = await send('GET', '/backups', platform);
      const signatures = (listed.body.backups as { id: string; signature: string }[]).map(
        (backup) => [backup.id, backup.signature],
      );
      assert.deepEqual(signatures, [
        [unsigned, 'unsigned'],
        [forged, 'invalid'],
        [made.body.id, 'valid'],
      ]);
    });

    it('answers 503 backup_dir_unusable when backup.dir cannot be written, leaving nothing', async (t) => {
      const parent = tempDirFor(t, 'tessera-backups-');
      const dir = join(parent, 'a-file');
      writeFileSync(dir, 'not a directory');
      const test = await tenancyTestApp(t, engine, { backup: { dir } });
      const created = await test.send('POST', '/backups', test.platform);
      assert.equal(created.status, 503, JSON.stringify(created.body));
      assert.equal(created.body.code, 'backup_dir_unusable');
      assert.match(String(created.body.detail), /cannot be written \(EEXIST|ENOTDIR/);
      assert.deepEqual(readdirSync(parent), ['a-file']);
      const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^backup_failures_total 1$/m);
    });

    it('answers 409 backup_in_progress to a second creation while one runs', async (t) => {
      const { dir, test } = await backupApp(t, engine);
      const { send, platform } = test;
      // Two requests at once: the second usually arrives while the first is writing.
      // When the first happens to finish before, both succeed; try again.
      let conflict: Record<string, unknown> | undefined;
      for (let attempt = 0; attempt < 20 && !conflict; attempt++) {
        const replies = await Promise.all([
          send('POST', '/backups', platform),
          send('POST', '/backups', platform),
        ]);
        const statuses = replies.map((reply) => reply.status).sort();
        assert.ok(
          String(statuses) === '201,201' || String(statuses) === '201,409',
          String(statuses),
        );
        conflict = replies.find((reply) => reply.status === 409)?.body;
      }
      assert.equal(conflict?.code, 'backup_in_progress');
      const files = readdirSync(dir);
      const created = await auditActions(test, 'backup.created');
      assert.equal(created.length, files.length);
    });
  });
}

describe('backup metrics', () => {
  it('report the last backup’s size, time and duration after a POST', async (t) => {
    const { dir, test } = await backupApp(t, 'sqlite');
    const before = Date.now() / 1000;
    const created = await test.send('POST', '/backups', test.platform);
    assert.equal(created.status, 201);
    const size = statSync(join(dir, backupFileName(created.body.id as string))).size;
    const text = (await test.app.inject({ url: '/metrics' })).body;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('backup_last_success_size_bytes'), size);
    const at = value('backup_last_success_timestamp_seconds');
    assert.ok(at >= before && at <= Date.now() / 1000, String(at));
    assert.ok(value('backup_last_duration_seconds') > 0);
    assert.equal(value('backup_failures_total'), 0);
  });
});
