import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { backupSigningKey, type SigningKey } from '../src/backup/backup-signature.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { verifyBackup } from '../src/backup/verify-backup.ts';
import { createBackup } from '../src/backup/write-backup.ts';
import { openEventStore } from '../src/events/open-event-store.ts';
import { loadMasterKey } from '../src/identity/tokens/master-key.ts';
import type { Engine } from '../src/storage/database.ts';
import type { Database } from '../src/storage/open-database.ts';
import { benchEvents, TENANT, withScratch } from './events-fixture.ts';
import { type Batch, rawInsertRate } from './events-raw.ts';

/** Events per entity and per append call while filling the log. */
const STREAM_EVENTS = 100;
const FILL_CHUNK = 10_000;

export interface BackupFigure {
  readonly engine: Engine;
  readonly step: string;
  /** Rows handled (events, or every table's rows for backup, verify and restore). */
  readonly rows: number;
  readonly seconds: number;
  /** What the engine alone does in the same run, rows per second. */
  readonly rawRowsPerSecond: number | undefined;
  readonly rawWhat: string;
  readonly fileBytes: number | undefined;
  /** Highest resident set size seen during the step, minus the one before it. */
  readonly rssGrowthMb: number;
}

async function fill(db: Database, events: number): Promise<void> {
  const store = openEventStore(db);
  for (let first = 0; first < events; first += FILL_CHUNK) {
    const count = Math.min(FILL_CHUNK, events - first);
    const entities = Array.from({ length: count / STREAM_EVENTS }, (_, i) => ({
      entity_id: `stream-${first / STREAM_EVENTS + i}`,
      expected_version: 'any' as const,
      events: benchEvents(STREAM_EVENTS, first + i * STREAM_EVENTS),
    }));
    await store.appendUnits([{ tenant_id: TENANT, entities }]);
  }
}

/** Times `fn`, sampling the RSS every 20 ms. */
async function measured<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; seconds: number; rssGrowthMb: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const started = performance.now();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      value,
      seconds: (performance.now() - started) / 1000,
      rssGrowthMb: (peak - before) / 2 ** 20,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** The engine's own full scan of the events table, in position order: rows per second. */
async function rawScanRate(db: Database): Promise<number> {
  const started = performance.now();
  let rows = 0;
  if (db.engine === 'sqlite') {
    const connection = new DatabaseSync(db.location, { readOnly: true });
    const statement = connection.prepare('SELECT * FROM events ORDER BY position');
    statement.setReturnArrays(true);
    for (const _ of statement.iterate()) rows++;
    connection.close();
  } else {
    const result = await db.pool.query({
      text: 'SELECT position, tenant_id, entity_id, version, event_type, time_ms, payload::text, metadata::text, client_id FROM events ORDER BY position',
      rowMode: 'array',
    });
    rows = result.rows.length;
  }
  return rows / ((performance.now() - started) / 1000);
}

/**
 * One engine: a log of `events` events; a backup of it (against the engine's own scan
 * of the events table), a verify, and a restore into a fresh database of the same
 * engine (against raw INSERTs of as many event rows).
 */
export async function benchBackups(engine: Engine, events: number): Promise<BackupFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-backup-'));
  try {
    return await withScratch(engine, async (source) => {
      await fill(source.db, events);
      const scan = await rawScanRate(source.db);
      const masterKey = loadMasterKey(source.config.storage);
      const signingKey = backupSigningKey('', masterKey) as SigningKey;
      const backup = await measured(() => createBackup(source.db, { dir, signingKey }));
      const rows = backup.value.manifest.tables.reduce((sum, part) => sum + part.rows, 0);
      const verify = await measured(() => verifyBackup(backup.value.path, { signingKey }));
      if (verify.value.problems.length) throw new Error(JSON.stringify(verify.value.problems));
      const restore = await withScratch(engine, async (target) =>
        measured(() =>
          restoreBackup(target.db, backup.value.path, { masterKey, signingKey, force: true }),
        ),
      );
      const batches: Batch[] = Array.from({ length: Math.ceil(events / 1000) }, (_, i) => ({
        entity: `stream-${i}`,
        events: benchEvents(Math.min(1000, events - i * 1000), i * 1000),
      }));
      const rawInsert = await withScratch(engine, (scratch) => rawInsertRate(scratch.db, batches));
      const fileBytes = backup.value.size;
      return [
        {
          engine,
          step: 'backup',
          rows,
          seconds: backup.seconds,
          rawRowsPerSecond: scan,
          rawWhat: 'scan of events',
          fileBytes,
          rssGrowthMb: backup.rssGrowthMb,
        },
        {
          engine,
          step: 'verify',
          rows,
          seconds: verify.seconds,
          rawRowsPerSecond: undefined,
          rawWhat: '',
          fileBytes,
          rssGrowthMb: verify.rssGrowthMb,
        },
        {
          engine,
          step: 'restore (verify + load)',
          rows,
          seconds: restore.seconds,
          rawRowsPerSecond: rawInsert,
          rawWhat: 'INSERT of events, 1,000 per transaction',
          fileBytes,
          rssGrowthMb: restore.rssGrowthMb,
        },
      ];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function backupTable(figures: readonly BackupFigure[]): string {
  const lines = [
    '| Engine | Step | Rows | Seconds | Rows/s | Raw engine rows/s | Raw | File MB | RSS growth MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const f of figures) {
    const rate = f.rows / f.seconds;
    lines.push(
      `| ${f.engine} | ${f.step} | ${f.rows.toLocaleString('en-US')} | ${f.seconds.toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ${f.rawRowsPerSecond === undefined ? '—' : Math.round(f.rawRowsPerSecond).toLocaleString('en-US')} | ${f.rawWhat || '—'} | ${f.fileBytes === undefined ? '—' : (f.fileBytes / 2 ** 20).toFixed(1)} | ${f.rssGrowthMb.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}
