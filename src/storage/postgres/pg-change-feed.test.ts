import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { testStorageConfig } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { type Change, EVERYTHING } from '../change-feed.ts';
import { fixture } from '../contract-fixture.ts';
import type { Database } from '../open-database.ts';
import type { PostgresDatabase } from './open-postgres.ts';
import { CHANGE_FEED_APPLICATION_NAME } from './pg-change-feed.ts';

const freshPostgres = (overrides = {}) => testStorageConfig('postgres', overrides);

async function postgres(t: Parameters<typeof fixture>[0]) {
  const { db, open } = await fixture(t, freshPostgres);
  const asPostgres = (handle: Database) => {
    assert.equal(handle.engine, 'postgres');
    return handle as PostgresDatabase;
  };
  return { db: asPostgres(db), open: async () => asPostgres(await open()) };
}

/** The LISTEN connections of change feeds on this database. */
async function listeners(db: PostgresDatabase): Promise<number[]> {
  const { rows } = await db.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE application_name = $1 AND datname = current_database() AND query LIKE 'LISTEN%'`,
    [CHANGE_FEED_APPLICATION_NAME],
  );
  return rows.map((row) => row.pid);
}

describe('PostgreSQL change feed', { skip: skipWithoutPostgres }, () => {
  it('listens on every topic over one connection, and closes it on the last stop', async (t) => {
    const { db } = await postgres(t);
    for (const topic of ['credentials', 'quotas', 'ip_filters'])
      db.changes.subscribe(topic, () => {});
    const hearing = await db.changes.start();
    assert.equal((await listeners(db)).length, 1);
    db.changes.subscribe('events', () => {});
    await until(() => db.changes.hears('events'), 'a late topic is heard');
    assert.equal((await listeners(db)).length, 1, 'a late topic shares it');
    await hearing.stop();
    await until(async () => (await listeners(db)).length === 0, 'the connection is closed');
  });

  it('tells EVERYTHING when its connection is lost and again once back, and reports the loss', async (t) => {
    const { db, open } = await postgres(t);
    const other = await open();
    // What each listener heard, and whether the feed heard the topic at that moment.
    const heard: [Change, boolean][] = [];
    db.changes.subscribe('quotas', (change) => heard.push([change, db.changes.hears('quotas')]));
    const errors: unknown[] = [];
    const hearing = await db.changes.start({ onError: (error) => errors.push(error) });
    t.after(() => hearing.stop());
    const [pid] = await listeners(db);
    heard.length = 0;
    await other.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await until(() => heard.length >= 2, 'the loss and the return are told');
    assert.deepEqual(heard.slice(0, 2), [
      [EVERYTHING, false],
      [EVERYTHING, true],
    ]);
    assert.ok(errors.length > 0, 'the loss was reported');
    await other.pool.query("SELECT pg_notify('tessera_quotas', 'acme')");
    await until(() => heard.some(([change]) => change === 'acme'), 'it hears again');
  });
});
