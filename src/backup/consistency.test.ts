import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import {
  assertRestored,
  copyMasterKey,
  type Dump,
  dumpBackup,
  dumpTables,
  emptyDatabase,
  masterKeyOf,
  signingKeyOf,
} from '../../test/helpers/backup-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';
import { restoreBackup } from './restore.ts';
import { verifyBackup } from './verify-backup.ts';
import { type BackupFile, createBackup } from './write-backup.ts';

const WRITERS = 4;
const BACKUPS = 3;
const ENTITIES_PER_BATCH = 2;
const EVENTS_PER_ENTITY = 3;

type Row = Record<string, unknown>;
const rowsOf = (dump: Dump, table: string): Row[] =>
  (dump[table] ?? []).map((row) => JSON.parse(row) as Row);

/**
 * What a snapshot guarantees: whole batches only, summaries that agree with the
 * events they summarise, and a gapless log up to its head.
 */
function assertConsistent(dump: Dump, file: BackupFile): string[] {
  const events = rowsOf(dump, 'events').filter((e) => String(e.tenant_id) === 'default');
  const byBatch = new Map<string, number>();
  for (const event of events) {
    const batch = String((event.metadata as Row).correlation_id);
    byBatch.set(batch, (byBatch.get(batch) ?? 0) + 1);
  }
  for (const [batch, count] of byBatch) {
    assert.equal(count, ENTITIES_PER_BATCH * EVENTS_PER_ENTITY, `batch ${batch} is whole`);
  }
  const all = rowsOf(dump, 'events');
  const positions = all.map((e) => Number(e.position)).sort((a, b) => a - b);
  const head = file.manifest.events.head_position;
  assert.deepEqual(
    positions,
    Array.from({ length: head }, (_, i) => i + 1),
    'the log is gapless up to its head',
  );
  assert.equal(Number(rowsOf(dump, 'event_log_head')[0]?.position), head);
  for (const entity of rowsOf(dump, 'entities')) {
    const own = all.filter(
      (e) => e.tenant_id === entity.tenant_id && e.entity_id === entity.entity_id,
    );
    const versions = own.map((e) => Number(e.version)).sort((a, b) => a - b);
    assert.deepEqual(
      versions,
      Array.from({ length: versions.length }, (_, i) => i),
      'gapless versions',
    );
    assert.equal(entity.version, versions.length - 1, `version of ${String(entity.entity_id)}`);
    assert.equal(entity.last_position, Math.max(...own.map((e) => Number(e.position))));
  }
  for (const type of rowsOf(dump, 'event_types')) {
    const count = all.filter(
      (e) => e.tenant_id === type.tenant_id && e.event_type === type.event_type,
    );
    assert.equal(type.events, count.length, `count of ${String(type.event_type)}`);
  }
  return [...byBatch.keys()];
}

for (const engine of testEngines()) {
  describe(`backups under write load (${engine})`, () => {
    it('hold exactly the batches committed before their snapshot, and restore row for row', async (t) => {
      const source = await buildTestApp({ rate_limits: { enabled: false } }, engine);
      t.after(() => source.close());
      const signingKey = signingKeyOf(source.config.storage);
      const dir = mkdtempSync(join(tmpdir(), 'tessera-backup-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));

      let writing = true;
      let next = 0;
      const acknowledgedAt = new Map<string, number>();
      const startedAt = new Map<string, number>();
      let clock = 0;
      const writer = async () => {
        while (writing) {
          const batch = `batch-${next++}`;
          startedAt.set(batch, ++clock);
          const reply = await source.app.inject({
            method: 'POST',
            url: '/api/v1/events',
            payload: {
              events: Array.from({ length: ENTITIES_PER_BATCH }, (_, e) =>
                Array.from({ length: EVENTS_PER_ENTITY }, (_, i) => ({
                  // One entity every batch shares, one of the batch's own.
                  entity_id: e === 0 ? 'shared' : `${batch}-own`,
                  event_type: i === 0 ? 'opened' : 'changed',
                  payload: { batch, i, text: 'x'.repeat(200) },
                  metadata: { correlation_id: batch },
                })),
              ).flat(),
            },
          });
          assert.equal(reply.statusCode, 201, reply.body);
          acknowledgedAt.set(batch, ++clock);
        }
      };
      // A writer that fails stops the waits below at once (rather than leaving them
      // to wait for acknowledgements that never come), and its error fails the test.
      let failure: unknown;
      const writers = Array.from({ length: WRITERS }, () =>
        writer().catch((error: unknown) => {
          writing = false;
          failure ??= error;
        }),
      );
      const files: { file: BackupFile; before: number; after: number }[] = [];
      try {
        for (let i = 0; i < BACKUPS; i++) {
          // Let some writes land between backups.
          const target = acknowledgedAt.size + 20;
          await until(() => {
            if (failure !== undefined) throw failure;
            return acknowledgedAt.size >= target;
          }, `${target} batches are acknowledged`);
          const before = ++clock;
          const file = await createBackup(source.db, { dir, signingKey });
          files.push({ file, before, after: ++clock });
        }
      } finally {
        writing = false;
        await Promise.all(writers);
      }
      if (failure !== undefined) throw failure;

      for (const { file, before, after } of files) {
        assert.deepEqual((await verifyBackup(file.path, { signingKey })).problems, []);
        const dump = await dumpBackup(file.path);
        const held = new Set(assertConsistent(dump, file));
        for (const [batch, ackedAt] of acknowledgedAt) {
          // Acknowledged before the backup began: in it. Begun after it ended: not.
          if (ackedAt < before) assert.ok(held.has(batch), `${batch} is in the backup`);
          if ((startedAt.get(batch) as number) > after)
            assert.ok(!held.has(batch), `${batch} is not`);
        }
        assert.ok(held.size > 0);
      }

      // The last backup, restored, equals the file row for row.
      const last = files.at(-1)?.file as BackupFile;
      const target = await emptyDatabase(t, engine);
      copyMasterKey(source.config.storage, target.storage);
      await restoreBackup(target.db, last.path, {
        masterKey: masterKeyOf(target.storage),
        signingKey: signingKeyOf(target.storage),
      });
      assertRestored(
        await dumpBackup(last.path),
        await dumpTables(target.db),
        last.manifest.events.head_position,
      );
    });
  });
}
