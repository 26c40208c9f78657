import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testStorageConfig } from '../../../test/helpers/test-database.ts';
import { type Change, EVERYTHING } from '../change-feed.ts';
import { fixture } from '../contract-fixture.ts';

const freshSqlite = (overrides = {}) => testStorageConfig('sqlite', overrides);

describe('SQLite change feed', () => {
  it("tells every topic EVERYTHING once per catch-up after another handle's commits, never for its own", async (t) => {
    const { db, open } = await fixture(t, freshSqlite);
    const cli = await open();
    const heard: [string, Change][] = [];
    for (const topic of ['credentials', 'quotas']) {
      db.changes.subscribe(topic, (change) => heard.push([topic, change]));
    }
    await sql`CREATE TABLE t (x integer)`.execute(db.kysely);
    const hearing = await db.changes.start();
    t.after(() => hearing.stop());
    heard.length = 0;
    await sql`INSERT INTO t VALUES (1)`.execute(db.kysely);
    db.changes.catchUp();
    assert.deepEqual(heard, [], 'its own commit');
    await sql`INSERT INTO t VALUES (2)`.execute(cli.kysely);
    await sql`INSERT INTO t VALUES (3)`.execute(cli.kysely);
    db.changes.catchUp();
    db.changes.catchUp();
    assert.deepEqual(heard, [
      ['credentials', EVERYTHING],
      ['quotas', EVERYTHING],
    ]);
  });

  it('asks nothing before it is started: the CLI hears only its own announcements', async (t) => {
    const { db, open } = await fixture(t, freshSqlite);
    const cli = await open();
    const heard: Change[] = [];
    db.changes.subscribe('quotas', (change) => heard.push(change));
    await sql`CREATE TABLE t (x integer)`.execute(cli.kysely);
    db.changes.catchUp();
    assert.deepEqual(heard, []);
    assert.equal(db.changes.hears('quotas'), false);
  });
});
