import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { defaultConfig } from '../src/config/load.ts';
import { type Database, openDatabase } from '../src/storage/open-database.ts';
import { testStorageConfig } from '../test/helpers/test-database.ts';

/**
 * Control-plane write path: rows of ~150 bytes inserted in transactions of `batch`
 * rows, through the Database handle (Kysely, and the raw per-engine path) versus
 * the bare driver on the same schema and durability, measured in the same run.
 */
export interface WriteFigure {
  readonly engine: string;
  readonly path: string;
  readonly rowsPerSecond: number;
}

const TABLE =
  'CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL)';

function rowsFor(batch: number, offset: number) {
  return Array.from({ length: batch }, (_, i) => ({
    name: `row-${offset + i}`,
    body: JSON.stringify({ n: offset + i, text: 'x'.repeat(100) }),
  }));
}

async function timed(
  total: number,
  batch: number,
  write: (offset: number) => Promise<void> | void,
) {
  const started = performance.now();
  for (let offset = 0; offset < total; offset += batch) await write(offset);
  return (total / (performance.now() - started)) * 1000;
}

export async function benchSqliteWrites(total: number, batch: number): Promise<WriteFigure[]> {
  const storage = {
    ...defaultConfig().storage,
    data_dir: mkdtempSync(join(tmpdir(), 'tessera-bench-')),
  };
  const rawDir = mkdtempSync(join(tmpdir(), 'tessera-bench-raw-'));
  const raw = new DatabaseSync(join(rawDir, 'raw.db'));
  raw.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=${storage.sqlite_synchronous}; ${TABLE}`);
  const rawInsert = raw.prepare('INSERT INTO bench_rows (name, body) VALUES (?, ?)');
  const rawRate = await timed(total, batch, (offset) => {
    raw.exec('BEGIN IMMEDIATE');
    for (const row of rowsFor(batch, offset)) rawInsert.run(row.name, row.body);
    raw.exec('COMMIT');
  });
  raw.close();

  const db = await openDatabase(storage);
  if (db.engine !== 'sqlite') throw new Error('expected SQLite');
  await db.withRaw((handle) => handle.exec(TABLE));
  const kyselyRate = await timed(total, batch, (offset) =>
    db.transaction((trx) =>
      trx
        .insertInto('bench_rows')
        .values(rowsFor(batch, offset))
        .execute()
        .then(() => {}),
    ),
  );
  const handleRate = await timed(total, batch, (offset) =>
    db.withRawTransaction((handle) => {
      const insert = handle.prepare('INSERT INTO bench_rows (name, body) VALUES (?, ?)');
      for (const row of rowsFor(batch, offset)) insert.run(row.name, row.body);
    }),
  );
  await db.close();
  rmSync(storage.data_dir, { recursive: true, force: true });
  rmSync(rawDir, { recursive: true, force: true });
  return [
    {
      engine: 'sqlite',
      path: `raw node:sqlite (synchronous=${storage.sqlite_synchronous})`,
      rowsPerSecond: rawRate,
    },
    { engine: 'sqlite', path: 'Database.withRawTransaction', rowsPerSecond: handleRate },
    { engine: 'sqlite', path: 'Database.transaction (Kysely)', rowsPerSecond: kyselyRate },
  ];
}

const PG_TABLE =
  'CREATE TABLE bench_rows (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL)';
const PG_UNNEST =
  'INSERT INTO bench_rows (name, body) SELECT * FROM unnest($1::text[], $2::text[])';

export async function benchPostgresWrites(total: number, batch: number): Promise<WriteFigure[]> {
  const target = await testStorageConfig('postgres');
  const client = new pg.Client({ connectionString: target.storage.database_url });
  await client.connect();
  await client.query(PG_TABLE);
  const unnest = (query: (text: string, values: unknown[]) => Promise<unknown>, offset: number) => {
    const rows = rowsFor(batch, offset);
    return query(PG_UNNEST, [rows.map((r) => r.name), rows.map((r) => r.body)]);
  };
  const rawRate = await timed(total, batch, async (offset) => {
    await client.query('BEGIN');
    await unnest((text, values) => client.query(text, values), offset);
    await client.query('COMMIT');
  });
  await client.end();

  let db: Database | undefined;
  try {
    db = await openDatabase(target.storage);
    if (db.engine !== 'postgres') throw new Error('expected PostgreSQL');
    const { pool } = db;
    await pool.query('TRUNCATE bench_rows');
    const kyselyRate = await timed(total, batch, (offset) =>
      (db as Database).transaction((trx) =>
        trx
          .insertInto('bench_rows')
          .values(rowsFor(batch, offset))
          .execute()
          .then(() => {}),
      ),
    );
    const poolRate = await timed(total, batch, async (offset) => {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        await unnest((text, values) => connection.query(text, values), offset);
        await connection.query('COMMIT');
      } finally {
        connection.release();
      }
    });
    return [
      { engine: 'postgres', path: 'raw pg client (unnest)', rowsPerSecond: rawRate },
      { engine: 'postgres', path: 'Database.pool (unnest)', rowsPerSecond: poolRate },
      {
        engine: 'postgres',
        path: 'Database.transaction (Kysely VALUES)',
        rowsPerSecond: kyselyRate,
      },
    ];
  } finally {
    await db?.close();
    await target.cleanup();
  }
}
