import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { type StorageConfig, testStorageConfig } from '../../../test/helpers/test-database.ts';
import { openSqlite, type SqliteDatabase } from './open-sqlite.ts';

async function open(
  t: TestContext,
  overrides: Partial<StorageConfig> = {},
): Promise<SqliteDatabase> {
  const target = await testStorageConfig('sqlite', overrides);
  const db = await openSqlite(target.storage);
  t.after(async () => {
    await db.close();
    await target.cleanup();
  });
  return db;
}

function pragma(db: SqliteDatabase, name: string): Promise<unknown> {
  return db.withRaw((raw) => Object.values(raw.prepare(`PRAGMA ${name}`).get() ?? {})[0]);
}

describe('openSqlite', () => {
  it('creates a private data dir and database file', async (t) => {
    const target = await testStorageConfig('sqlite');
    t.after(() => target.cleanup());
    const dataDir = join(target.storage.data_dir, 'nested', 'data');
    const db = await openSqlite({ ...target.storage, data_dir: dataDir });
    t.after(() => db.close());
    assert.equal(db.location, join(dataDir, 'tessera.db'));
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(db.location).mode & 0o777, 0o600);
  });

  for (const [level, expected] of [
    ['normal', 1],
    ['full', 2],
    ['extra', 3],
  ] as const) {
    it(`puts the pragmas in effect (synchronous = ${level})`, async (t) => {
      const db = await open(t, { sqlite_synchronous: level, sqlite_busy_timeout_ms: 1234 });
      assert.equal(await pragma(db, 'journal_mode'), 'wal');
      assert.equal(await pragma(db, 'synchronous'), expected);
      assert.equal(await pragma(db, 'foreign_keys'), 1);
      assert.equal(await pragma(db, 'busy_timeout'), 1234);
      await db.transaction(async () => {});
      assert.equal(await pragma(db, 'busy_timeout'), 1234, 'restored after BEGIN IMMEDIATE');
    });
  }

  it('refuses an unknown synchronous level before interpolating it', async (t) => {
    const hostile = 'off; DROP TABLE x' as unknown as StorageConfig['sqlite_synchronous'];
    const target = await testStorageConfig('sqlite', { sqlite_synchronous: hostile });
    t.after(() => target.cleanup());
    await assert.rejects(openSqlite(target.storage), /sqlite_synchronous must be/);
  });

  it('makes withRaw wait while a Kysely transaction is open, and the reverse', async (t) => {
    const db = await open(t);
    const events: string[] = [];
    let finish = () => {};
    const transaction = db.transaction(async () => {
      events.push('transaction start');
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      events.push('transaction end');
    });
    while (events.length === 0) await yieldToLoop();
    const raw = db.withRaw(() => events.push('raw'));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(events, ['transaction start']);
    } finally {
      finish();
      await Promise.all([transaction, raw]);
    }
    assert.deepEqual(events, ['transaction start', 'transaction end', 'raw']);

    const order: string[] = [];
    const slowRaw = db.withRaw(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push('raw');
    });
    const query = sql`SELECT 1`.execute(db.kysely).then(() => order.push('kysely'));
    await Promise.all([slowRaw, query]);
    assert.deepEqual(order, ['raw', 'kysely']);
  });

  it('joins the enclosing transaction from withRaw, so a rollback undoes raw writes', async (t) => {
    const db = await open(t);
    await db.withRaw((raw) => raw.exec('CREATE TABLE t (x INTEGER)'));
    await assert.rejects(
      db.transaction(async () => {
        await db.withRaw((raw) => raw.exec('INSERT INTO t VALUES (1)'));
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal(await db.withRaw((raw) => raw.prepare('SELECT count(*) AS n FROM t').get()?.n), 0);
  });

  it('fails loudly instead of deadlocking on db.kysely inside a transaction', async (t) => {
    const db = await open(t);
    await assert.rejects(
      db.transaction(() => sql`SELECT 1`.execute(db.kysely)),
      /use the transaction handle/,
    );
    assert.equal(await db.ping(), true);
  });

  it('rolls back and reports a transaction that withRaw left open', async (t) => {
    const db = await open(t);
    await db.withRaw((raw) => raw.exec('CREATE TABLE t (x INTEGER)'));
    await assert.rejects(
      db.withRaw((raw) => raw.exec('BEGIN; INSERT INTO t VALUES (1)')),
      /transaction still open/,
    );
    assert.equal(await db.withRaw((raw) => raw.isTransaction), false);
    assert.equal(await db.withRaw((raw) => raw.prepare('SELECT count(*) AS n FROM t').get()?.n), 0);
  });

  it('commits withRawTransaction, or rolls it back on a throw', async (t) => {
    const db = await open(t);
    await db.withRaw((raw) => raw.exec('CREATE TABLE t (x INTEGER)'));
    await db.withRawTransaction((raw) => raw.prepare('INSERT INTO t VALUES (1)').run());
    await assert.rejects(
      db.withRawTransaction((raw) => {
        raw.prepare('INSERT INTO t VALUES (2)').run();
        throw new Error('undo');
      }),
      /undo/,
    );
    const rows = await db.withRaw((raw) => raw.prepare('SELECT x FROM t').all());
    assert.deepEqual(
      rows.map((row) => row.x),
      [1],
    );
  });

  it('waits for another handle’s write lock without blocking the event loop, up to the busy timeout', async (t) => {
    const target = await testStorageConfig('sqlite', { sqlite_busy_timeout_ms: 300 });
    const holder = await openSqlite(target.storage);
    const waiter = await openSqlite(target.storage);
    // Waits for the lock far longer than the test takes, however loaded the machine.
    const patient = await openSqlite({ ...target.storage, sqlite_busy_timeout_ms: 600_000 });
    t.after(async () => {
      await Promise.all([holder.close(), waiter.close(), patient.close()]);
      await target.cleanup();
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    t.after(() => clearInterval(ticker));
    let release = () => {};
    const held = holder.transaction(() => new Promise<void>((resolve) => (release = resolve)));
    await yieldToLoop();
    const ticksBefore = ticks;
    const startedAt = Date.now();
    await assert.rejects(
      waiter.transaction(async () => {}),
      /database is locked/,
    );
    const waited = Date.now() - startedAt;
    assert.ok(waited >= 280, `gave up after ${waited} ms, not before the busy timeout`);
    // A thread blocked in SQLite's busy handler would fire no timer at all meanwhile.
    assert.ok(ticks > ticksBefore, 'timers kept firing while waiting');
    const second = patient.transaction(async () => 'got it');
    setTimeout(release, 50);
    await held;
    assert.equal(await second, 'got it');
  });

  it('moves dataVersion for another handle’s commits, never for its own', async (t) => {
    const target = await testStorageConfig('sqlite');
    const server = await openSqlite(target.storage);
    const cli = await openSqlite(target.storage);
    t.after(async () => {
      await Promise.all([server.close(), cli.close()]);
      await target.cleanup();
    });
    await server.withRaw((raw) => raw.exec('CREATE TABLE t (x INTEGER)'));
    const start = server.dataVersion();
    await server.withRawTransaction((raw) => raw.prepare('INSERT INTO t VALUES (1)').run());
    await sql`INSERT INTO t VALUES (2)`.execute(server.kysely);
    assert.equal(server.dataVersion(), start, 'own commits leave it alone');
    await cli.withRawTransaction((raw) => raw.prepare('INSERT INTO t VALUES (3)').run());
    const afterCli = server.dataVersion();
    assert.notEqual(afterCli, start, 'another handle’s commit moves it');
    assert.equal(server.dataVersion(), afterCli, 'and it stays until the next one');
  });

  it('refuses a Date or object parameter instead of binding NULL', async (t) => {
    const db = await open(t);
    await assert.rejects(
      sql`SELECT ${new Date()} AS d`.execute(db.kysely),
      /parameter 1 is a Date/,
    );
    await assert.rejects(sql`SELECT ${1}, ${{ a: 1 }}`.execute(db.kysely), /parameter 2 is object/);
  });
});
