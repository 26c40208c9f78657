import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { createOutboxStore, insertOutboxRow } from './outbox-store.ts';

/** Times are explicit here: the store takes every "now" from its caller. */
const T0 = 1_000_000_000_000;
const LEASE = 60_000;

for (const engine of testEngines()) {
  describe(`the email outbox store (${engine})`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await openTestDatabase(engine));
      await migrateToLatest(db, MIGRATIONS);
    });
    after(() => cleanup());

    const kysely = (): Kysely<Pick<Tables, 'email_outbox'>> => db.kysely;
    const outbox = () => createOutboxStore(db.kysely);
    let counter = 0;

    /** A queued message created at `createdMs`; returns its id. */
    async function queue(createdMs: number): Promise<string> {
      const id = `m-${engine}-${++counter}`;
      await insertOutboxRow(
        db.kysely,
        {
          id,
          tenant_id: null,
          template: 'verify_email',
          recipient: `${id}@example.com`,
          subject: 'Hello',
          text_body: 'text with a one-time link',
          html_body: '<p>html with a one-time link</p>',
          message_id: `<${id}@example.com>`,
        },
        createdMs,
      );
      return id;
    }

    const row = (id: string) =>
      kysely()
        .selectFrom('email_outbox')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();

    async function clear(): Promise<void> {
      await kysely().deleteFrom('email_outbox').execute();
    }

    it('leases a message to one owner until the lease runs out, then to another', async () => {
      await clear();
      const id = await queue(T0);
      const [mine] = await outbox().claim('a', T0, LEASE, 10);
      assert.equal(mine?.id, id);
      assert.equal(mine?.text, 'text with a one-time link');
      assert.equal(mine?.attempts, 0);
      assert.deepEqual(await outbox().claim('b', T0 + LEASE - 1, LEASE, 10), []);
      // a's lease ran out (a died): b takes the message over, with the same Message-ID.
      const [taken] = await outbox().claim('b', T0 + LEASE + 1, LEASE, 10);
      assert.equal(taken?.message_id, mine?.message_id);
      // a, late, changes nothing: neither its renewal nor its outcome counts.
      assert.equal(await outbox().renew(id, 'a', T0 + 3 * LEASE), false);
      await outbox().sent(id, 'a', T0 + LEASE + 2);
      await outbox().retry(id, 'a', 'late', T0 + LEASE + 2);
      await outbox().failed(id, 'a', 'late', T0 + LEASE + 2);
      const still = await row(id);
      assert.deepEqual(
        [still.status, still.lease_owner, Number(still.attempts)],
        ['queued', 'b', 0],
      );
      assert.equal(await outbox().renew(id, 'b', T0 + 3 * LEASE), true);
      await outbox().sent(id, 'b', T0 + LEASE + 3);
      const sent = await row(id);
      assert.deepEqual(
        [sent.status, sent.text_body, sent.html_body, Number(sent.attempts), sent.lease_owner],
        ['sent', null, null, 1, null],
      );
      assert.equal(Number(sent.finished_ms), T0 + LEASE + 3);
      assert.deepEqual(await outbox().claim('c', T0 + 10 * LEASE, LEASE, 10), []);
    });

    it('gives claimed messages back on release, to be claimed at once', async () => {
      await clear();
      const first = await queue(T0);
      const second = await queue(T0 + 1);
      assert.equal((await outbox().claim('a', T0 + 2, LEASE, 10)).length, 2);
      await outbox().release([second], 'b'); // not b's: nothing happens
      assert.deepEqual(await outbox().claim('b', T0 + 3, LEASE, 10), []);
      await outbox().release([second], 'a');
      const taken = await outbox().claim('b', T0 + 3, LEASE, 10);
      assert.deepEqual(
        taken.map((email) => email.id),
        [second],
      );
      assert.equal((await row(first)).lease_owner, 'a');
    });

    it('retries no sooner than asked, and forgets nothing it failed', async () => {
      await clear();
      const id = await queue(T0);
      await outbox().claim('a', T0, LEASE, 10);
      await outbox().retry(id, 'a', 'connection refused', T0 + 5000);
      assert.deepEqual(await outbox().claim('a', T0 + 4999, LEASE, 10), []);
      const [again] = await outbox().claim('a', T0 + 5000, LEASE, 10);
      assert.equal(again?.attempts, 1);
      const retried = await row(id);
      assert.equal(retried.last_error, 'connection refused');
      await outbox().failed(id, 'a', '550 no such user', T0 + 5001);
      const failed = await row(id);
      assert.deepEqual(
        [failed.status, failed.text_body, failed.html_body, Number(failed.attempts)],
        ['failed', null, null, 2],
      );
      assert.equal(failed.last_error, '550 no such user');
      assert.deepEqual(await outbox().claim('a', T0 + 10 * LEASE, LEASE, 10), []);
    });

    it('claims due messages oldest first, at most the limit', async () => {
      await clear();
      const ids = [await queue(T0 + 2), await queue(T0), await queue(T0 + 1)];
      const claimed = await outbox().claim('a', T0 + 5, LEASE, 2);
      assert.deepEqual(claimed.map((email) => email.id).sort(), [ids[1], ids[2]].sort());
    });

    it('gives each message to exactly one of several owners claiming at once', async () => {
      await clear();
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) ids.add(await queue(T0 + i));
      const owners = ['a', 'b', 'c', 'd', 'e', 'f'];
      const taken = new Map<string, string[]>();
      await Promise.all(
        owners.map(async (owner) => {
          // Each owner on its own connection where the engine has a pool.
          for (;;) {
            const batch = await outbox().claim(owner, T0 + 100, LEASE, 3);
            if (batch.length === 0) return;
            for (const email of batch) taken.set(email.id, [...(taken.get(email.id) ?? []), owner]);
          }
        }),
      );
      assert.deepEqual([...taken.keys()].sort(), [...ids].sort());
      assert.deepEqual(
        [...taken.values()].filter((holders) => holders.length > 1),
        [],
      );
    });

    it('counts the queue and its oldest message', async () => {
      await clear();
      assert.deepEqual(await outbox().stats(), { queued: 0, oldest_queued_ms: null });
      await queue(T0 + 10);
      const leased = await queue(T0);
      const done = await queue(T0 - 10);
      await outbox().claim('a', T0 + 20, LEASE, 10);
      await outbox().sent(done, 'a', T0 + 21);
      // A leased message is still queued: it is not sent yet.
      assert.equal((await row(leased)).status, 'queued');
      assert.deepEqual(await outbox().stats(), { queued: 2, oldest_queued_ms: T0 });
    });

    it('purges finished messages older than the cutoff, never queued ones', async () => {
      await clear();
      const [oldSent, oldFailed, recentSent, oldQueued] = [
        await queue(T0),
        await queue(T0),
        await queue(T0),
        await queue(T0),
      ];
      await outbox().claim('a', T0, LEASE, 10);
      await outbox().sent(oldSent as string, 'a', T0 + 1);
      await outbox().failed(oldFailed as string, 'a', 'refused', T0 + 2);
      await outbox().sent(recentSent as string, 'a', T0 + 100);
      await outbox().release([oldQueued as string], 'a');
      assert.equal(await outbox().purge(T0 + 50), 2);
      const left = await kysely().selectFrom('email_outbox').select('id').orderBy('id').execute();
      assert.deepEqual(
        left.map((r) => r.id),
        [recentSent, oldQueued].sort(),
      );
      assert.equal(await outbox().purge(T0 + 50), 0);
    });
  });
}
