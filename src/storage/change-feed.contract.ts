import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { type Change, EVERYTHING } from './change-feed.ts';
import { type FreshStorage, fixture } from './contract-fixture.ts';
import type { Engine } from './database.ts';
import type { Database } from './open-database.ts';

/** Every change `topic` hears from now on, in order. */
function record(db: Database, topic: string): Change[] {
  const heard: Change[] = [];
  db.changes.subscribe(topic, (change) => heard.push(change));
  return heard;
}

/**
 * What another node or process does: commit a write and announce it as the
 * migrations' triggers do (PostgreSQL: NOTIFY on the topic's channel; SQLite has no
 * announcements, the commit itself is what the other handle can tell).
 */
async function commitElsewhere(
  other: Database,
  engine: Engine,
  topic: string,
  payload: string,
): Promise<void> {
  await other.transaction(async (trx) => {
    await sql`CREATE TABLE IF NOT EXISTS writes (n integer)`.execute(trx);
    await sql`INSERT INTO writes (n) VALUES (1)`.execute(trx);
    if (engine === 'postgres') {
      await sql`SELECT pg_notify(${`tessera_${topic}`}, ${payload})`.execute(trx);
    }
  });
}

/** Bounded wait for what arrives from another connection; asks the feed to catch up each time. */
async function heardEventually(db: Database, what: string, condition: () => boolean) {
  for (let attempt = 0; attempt < 6000; attempt++) {
    db.changes.catchUp();
    if (condition()) return;
    await sleep(10);
  }
  assert.fail(`never heard ${what}`);
}

/** Either the very payload (PostgreSQL) or EVERYTHING (SQLite): both cover the change. */
const covers = (heard: readonly Change[], payload: string) =>
  heard.includes(payload) || heard.includes(EVERYTHING);

/** What `db.changes` must do on every engine; run by change-feed.contract.test.ts. */
export function changeFeedContract(engine: Engine, freshStorage: FreshStorage): void {
  describe(`change feed contract (${engine})`, () => {
    it("delivers this process's announcements at once, to that topic's listeners only", async (t) => {
      const { db } = await fixture(t, freshStorage);
      const quotas = record(db, 'quotas');
      const credentials = record(db, 'credentials');
      db.changes.publish('quotas', 'acme');
      assert.deepEqual(quotas, ['acme'], 'synchronously, before publish returns');
      assert.deepEqual(credentials, []);
      db.changes.publish('quotas', '');
      assert.deepEqual(quotas, ['acme', ''], 'an empty payload is a payload');
    });

    it('stops calling a listener once unsubscribed, each subscription on its own', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const heard: Change[] = [];
      const listener = (change: Change) => heard.push(change);
      const first = db.changes.subscribe('quotas', listener);
      const second = db.changes.subscribe('quotas', listener);
      db.changes.publish('quotas', 'a');
      first();
      db.changes.publish('quotas', 'b');
      second();
      second();
      db.changes.publish('quotas', 'c');
      assert.deepEqual(heard, ['a', 'a', 'b']);
    });

    it('refuses a topic that could not be a channel name', async (t) => {
      const { db } = await fixture(t, freshStorage);
      for (const topic of ['', 'Quotas', 'ip-filters', 'x; DROP TABLE y', '1st']) {
        assert.throws(() => db.changes.subscribe(topic, () => {}), /not a change feed topic/);
        assert.throws(() => db.changes.publish(topic, ''), /not a change feed topic/);
      }
    });

    it('hears others only while started, and tells every topic EVERYTHING as that begins and ends', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const quotas = record(db, 'quotas');
      const credentials = record(db, 'credentials');
      assert.equal(db.changes.hears('quotas'), false, 'not before start');
      const first = await db.changes.start();
      const second = await db.changes.start();
      assert.equal(db.changes.hears('quotas'), true);
      assert.deepEqual(quotas, [EVERYTHING], 'once, however many starts');
      assert.deepEqual(credentials, [EVERYTHING]);
      await first.stop();
      await first.stop();
      assert.equal(db.changes.hears('quotas'), true, 'until every start has stopped');
      await second.stop();
      assert.equal(db.changes.hears('quotas'), false);
      assert.deepEqual(quotas, [EVERYTHING, EVERYTHING]);
      const again = await db.changes.start();
      assert.equal(db.changes.hears('credentials'), true, 'and may start again');
      assert.deepEqual(credentials, [EVERYTHING, EVERYTHING, EVERYTHING]);
      await again.stop();
    });

    it('hears a change another node or process commits', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      const quotas = record(db, 'quotas');
      const hearing = await db.changes.start();
      t.after(() => hearing.stop());
      quotas.length = 0;
      await commitElsewhere(other, engine, 'quotas', 'acme');
      await heardEventually(db, 'the other writer', () => covers(quotas, 'acme'));
    });

    it('hears a topic first subscribed after it started', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      record(db, 'quotas');
      const hearing = await db.changes.start();
      t.after(() => hearing.stop());
      const late = record(db, 'ip_filters');
      await heardEventually(db, 'the late topic hear', () => db.changes.hears('ip_filters'));
      late.length = 0;
      await commitElsewhere(other, engine, 'ip_filters', 'x');
      await heardEventually(db, 'the late topic’s change', () => covers(late, 'x'));
    });

    it('keeps calling the other listeners when one throws, and reports the error', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const boom = new Error('boom');
      db.changes.subscribe('quotas', () => {
        throw boom;
      });
      const heard = record(db, 'quotas');
      assert.throws(() => db.changes.publish('quotas', 'a'), boom, 'not started: to the publisher');
      const errors: unknown[] = [];
      const hearing = await db.changes.start({ onError: (error) => errors.push(error) });
      t.after(() => hearing.stop());
      db.changes.publish('quotas', 'b');
      assert.deepEqual(heard, ['a', EVERYTHING, 'b']);
      assert.deepEqual(errors, [boom, boom], 'the start’s EVERYTHING, then the publish');
    });

    it('once its database is closed, hears nothing and refuses to start', async (t) => {
      const { db } = await fixture(t, freshStorage);
      const heard = record(db, 'quotas');
      await db.changes.start();
      heard.length = 0;
      await db.close();
      assert.equal(db.changes.hears('quotas'), false);
      db.changes.publish('quotas', 'a');
      db.changes.catchUp();
      db.changes.subscribe('quotas', () => assert.fail('a closed feed calls no one'));
      assert.deepEqual(heard, []);
      await assert.rejects(db.changes.start(), /closed/);
      await db.changes.close();
    });
  });
}
