import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import {
  type StorageConfig,
  testEngines,
  testStorageConfig,
} from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { describePostgresUrl } from './describe-postgres-url.ts';
import { parseInt8 } from './int8-as-number.ts';
import { openPostgres, type PostgresDatabase, type PostgresOptions } from './open-postgres.ts';

describe('describePostgresUrl', () => {
  it('keeps user, host, port and database; drops the password and query', () => {
    assert.equal(
      describePostgresUrl(
        'postgres://app:s3cret@db.example:6543/tessera?sslmode=require&password=x',
      ),
      'postgres://app@db.example:6543/tessera',
    );
    assert.equal(
      describePostgresUrl('postgresql://db.example/tessera'),
      'postgresql://db.example/tessera',
    );
    assert.equal(describePostgresUrl('postgres://[bad'), 'postgres://(unparsable URL)');
  });
});

describe('parseInt8', () => {
  it('returns safe integers as numbers and refuses the rest', () => {
    assert.equal(parseInt8('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseInt8('-42'), -42);
    assert.throws(() => parseInt8('9007199254740993'), RangeError);
  });
});

describe('openPostgres', () => {
  it('fails, naming the server but not the password, when PostgreSQL is unreachable', async () => {
    await assert.rejects(
      openPostgres({
        database_url: 'postgres://nobody:hunter2@127.0.0.1:1/none',
        pool_max: 2,
        connect_timeout_ms: 500,
      }),
      (error: Error) => {
        assert.match(
          error.message,
          /^cannot connect to PostgreSQL at postgres:\/\/nobody@127\.0\.0\.1:1\/none: \S/,
        );
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });
});

if (testEngines().includes('postgres')) {
  async function open(
    t: TestContext,
    options: PostgresOptions = {},
    overrides: Partial<StorageConfig> = {},
  ) {
    const target = await testStorageConfig('postgres', overrides);
    const url = new URL(target.storage.database_url);
    url.password = 'not-shown'; // trust auth ignores it
    const db = await openPostgres({ ...target.storage, database_url: url.toString() }, options);
    t.after(async () => {
      await db.close();
      await target.cleanup();
    });
    return db;
  }

  describe('openPostgres on a live server', () => {
    it('hides the password in its location', async (t) => {
      const db = await open(t);
      assert.doesNotMatch(db.location, /not-shown/);
      assert.match(db.location, /^postgres:\/\/[^:@/]+@[^/]+\/tessera_t_[0-9a-f]+$/);
    });

    it('reads int8 as numbers in its own pool only', async (t) => {
      const db = await open(t);
      const { rows } = await sql<{ n: unknown }>`SELECT 12345678901::int8 AS n`.execute(db.kysely);
      assert.equal(rows[0]?.n, 12345678901);
      const client = new pg.Client({ connectionString: process.env.TESSERA_TEST_DATABASE_URL });
      await client.connect();
      t.after(() => client.end());
      const global = await client.query('SELECT 1::int8 AS n');
      assert.equal(global.rows[0]?.n, '1', 'the process-wide parser is untouched');
    });

    it('survives the server terminating idle and in-transaction connections', async (t) => {
      const poolErrors: Error[] = [];
      const db: PostgresDatabase = await open(
        t,
        { onPoolError: (error) => poolErrors.push(error) },
        { pool_max: 4 },
      );
      // Connected first: between counting the idle clients and terminating them, the
      // less time passes, the less a loaded machine can let the pool's idle timeout act.
      const admin = new pg.Client({ connectionString: process.env.TESSERA_TEST_DATABASE_URL });
      await admin.connect();
      t.after(() => admin.end());
      await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.01)`.execute(db.kysely)));
      let resume = () => {};
      const inTransaction = Promise.withResolvers<void>();
      const stuck = db.transaction(async (trx) => {
        inTransaction.resolve();
        await new Promise<void>((resolve) => (resume = resolve));
        await sql`SELECT 1`.execute(trx);
      });
      // Its client is checked out now: the idle count no longer moves.
      await inTransaction.promise;
      const idle = db.pool.idleCount;
      assert.ok(idle > 0);
      const database = new URL(db.pool.options.connectionString ?? '').pathname.slice(1);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      await until(() => poolErrors.length >= idle, 'every idle client reported its error');
      assert.equal(poolErrors.length, idle, 'every idle client error reaches onPoolError');
      resume();
      await assert.rejects(stuck);
      assert.equal(await db.ping(), true, 'the pool reconnects');
    });
  });
}
