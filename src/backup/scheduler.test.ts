import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { captureLogs } from '../../test/helpers/app.ts';
import { migratedDatabase } from '../../test/helpers/backup-fixture.ts';
import { startNodes } from '../../test/helpers/nodes.ts';
import { skipWithoutPostgres } from '../../test/helpers/postgres-events-fixture.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';
import { backupIdOf } from './backup-names.ts';
import { claimSlot, parseInterval } from './scheduler.ts';

const backupsIn = (dir: string) =>
  readdirSync(dir)
    .map(backupIdOf)
    .filter((id) => id !== undefined)
    .sort();

const linesSaying = (lines: Record<string, unknown>[], msg: string) =>
  lines.filter((line) => line.msg === msg);

describe('parseInterval', () => {
  it('reads seconds, minutes, hours and days; empty is no schedule', () => {
    assert.equal(parseInterval(''), undefined);
    assert.equal(parseInterval('30s'), 30_000);
    assert.equal(parseInterval('15m'), 900_000);
    assert.equal(parseInterval('6h'), 21_600_000);
    assert.equal(parseInterval('1d'), 86_400_000);
    assert.throws(() => parseInterval('0s'));
    assert.throws(() => parseInterval('6 h'));
  });
});

for (const engine of testEngines()) {
  describe(`scheduled backups (${engine})`, () => {
    it('claims each slot once: the first claim, then none until an interval has passed', async (t) => {
      const { db } = await migratedDatabase(t, engine);
      const hour = 3_600_000;
      const start = 1_800_000_000_000;
      assert.equal(await claimSlot(db, start, hour, 1000), true);
      assert.equal(await claimSlot(db, start, hour, 1000), false);
      assert.equal(await claimSlot(db, start + hour - 2000, hour, 1000), false);
      // Within the tolerance: a timer firing a hair early still gets its slot.
      assert.equal(await claimSlot(db, start + hour - 500, hour, 1000), true);
      assert.equal(await claimSlot(db, start + hour, hour, 1000), false);
    });

    it('backs up every interval, keeps the newest by retention, and stops on close', async (t) => {
      const dir = tempDirFor(t, 'tessera-backups-');
      const logs = captureLogs('info');
      const test = await tenancyTestApp(
        t,
        engine,
        { backup: { dir, interval: '1s', retention_count: 2 } },
        { logger: logs.logger },
      );
      const made = () => linesSaying(logs.lines, 'scheduled backup made');
      await until(() => made().length >= 3, 'three scheduled backups were made', 1000);
      const trail = await test.send('GET', '/audit?action=backup.created', test.platform);
      const actors = (trail.body.events as { payload: { actor: string } }[]).map(
        (event) => event.payload.actor,
      );
      assert.ok(actors.length >= 3);
      assert.ok(actors.every((actor) => actor === 'scheduler'));

      await test.close();
      const ids = made().map((line) => line.backup_id as string);
      assert.deepEqual(backupsIn(dir), ids.sort().slice(-2));
      assert.ok(linesSaying(logs.lines, 'old backups pruned').length >= 1);

      // Stopped: two more intervals go by without a backup.
      const closedAt = Date.now();
      const left = backupsIn(dir);
      await until(() => Date.now() > closedAt + 2500, 'two intervals passed', 1000);
      assert.deepEqual(backupsIn(dir), left);
      assert.equal(made().length, ids.length);
    });

    it('waits out an interval longer than a Node timer can (30d) instead of spinning', async (t) => {
      const dir = tempDirFor(t, 'tessera-backups-');
      const logs = captureLogs('debug');
      await tenancyTestApp(
        t,
        engine,
        { backup: { dir, interval: '30d' } },
        { logger: logs.logger },
      );
      await until(
        () => linesSaying(logs.lines, 'scheduled backup made').length === 1,
        'the first backup was made',
      );
      const madeAt = Date.now();
      await until(() => Date.now() > madeAt + 300, 'a moment passed');
      assert.deepEqual(linesSaying(logs.lines, 'scheduled backup: another node has this slot'), []);
      assert.equal(backupsIn(dir).length, 1);
    });

    it('logs and counts a failed backup, and goes on serving', async (t) => {
      const parent = tempDirFor(t, 'tessera-backups-');
      // A file where the backup directory should be: every backup fails.
      const dir = join(parent, 'not-a-directory');
      writeFileSync(dir, '');
      const logs = captureLogs('info');
      const test = await tenancyTestApp(
        t,
        engine,
        { backup: { dir, interval: '1s' } },
        { logger: logs.logger },
      );
      const failed = () => linesSaying(logs.lines, 'scheduled backup failed');
      await until(() => failed().length >= 1, 'a scheduled backup failed', 1000);
      const metrics = (await test.app.inject({ url: '/metrics' })).body;
      const failures = Number(/^backup_failures_total (\S+)$/m.exec(metrics)?.[1]);
      assert.ok(failures >= 1, metrics);
      assert.equal((await test.app.inject({ url: '/health' })).statusCode, 200);
    });
  });
}

describe('scheduled backups across nodes (postgres)', { skip: skipWithoutPostgres }, () => {
  it('two nodes on one database started together make one backup between them', async (t) => {
    const dir = tempDirFor(t, 'tessera-backups-');
    const logs = [captureLogs('debug'), captureLogs('debug')];
    // Both at once, so their first slots race for the claim.
    await startNodes(
      t,
      'postgres',
      2,
      { backup: { dir, interval: '1h' } },
      { together: true, deps: (index) => ({ logger: logs[index]?.logger }) },
    );

    const decided = (lines: Record<string, unknown>[]) =>
      linesSaying(lines, 'scheduled backup made').length +
      linesSaying(lines, 'scheduled backup: another node has this slot').length;
    await until(
      () => logs.every(({ lines }) => decided(lines) >= 1),
      'both nodes tried their first slot',
    );
    assert.equal(backupsIn(dir).length, 1);
    const winners = logs.filter(
      ({ lines }) => linesSaying(lines, 'scheduled backup made').length === 1,
    );
    assert.equal(winners.length, 1);
  });
});
