import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import { UNTIL_DEADLINE_MS, until } from '../../../test/helpers/until.ts';
import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import type { LogNotifier } from '../log-notifier.ts';
import type { AppendUnit } from '../model.ts';
import { createPgNotifier, type PgNotifierOptions } from './pg-notifier.ts';
import { createPostgresEventStore } from './postgres-event-store.ts';

const unit: AppendUnit = {
  tenant_id: 'acme',
  entities: [
    { entity_id: 'e', expected_version: 'any', events: [{ event_type: 'E', payload: 1 }] },
  ],
};

async function notifier(
  t: TestContext,
  db: PostgresDatabase,
  options?: PgNotifierOptions,
): Promise<LogNotifier> {
  const created = await createPgNotifier(db, options);
  t.after(() => created.close());
  return created;
}

/** Resolves with the first head a listener hears at or above `atLeast`. */
function heard(notifier: LogNotifier, atLeast: number): Promise<number> {
  return new Promise((resolve) => {
    const stop = notifier.subscribe((head) => {
      if (head < atLeast) return;
      stop();
      resolve(head);
    });
  });
}

/**
 * The periodic poll never fires during a test (the largest interval Node accepts):
 * what wakes a listener can only be the mechanism under test, however slow the machine.
 */
const NO_POLL_MS = 2 ** 31 - 1;

/**
 * `promise`, or a failure naming `what` after UNTIL_DEADLINE_MS: a safety net against
 * a wake-up that never comes, not a measure of speed (a loaded machine takes seconds).
 */
async function eventually<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const safetyNet = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`never happened: ${what}`)), UNTIL_DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, safetyNet]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until the LISTEN connection is up (again): pg_stat_activity shows it. */
async function listenerBackend(db: PostgresDatabase): Promise<number> {
  let pid: number | undefined;
  await until(async () => {
    const { rows } = await db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'tessera-notifier' AND datname = current_database()
          AND query LIKE 'LISTEN%'`,
    );
    pid = rows[0]?.pid;
    return pid !== undefined;
  }, 'the notifier is listening');
  return pid as number;
}

describe('PostgreSQL log notifier', { skip: skipWithoutPostgres }, () => {
  it("wakes another node's listeners when one node commits", async (t) => {
    const { db, open } = await postgresFixture(t);
    const other = await open();
    // No poll: only the notification can wake it.
    const remote = await notifier(t, other, { pollMs: NO_POLL_MS });
    const woken = heard(remote, 1);
    const [outcome] = await createPostgresEventStore(db).appendUnits([unit, unit]);
    assert.ok(outcome?.ok);
    assert.ok((await eventually(woken, 'the notification')) >= 2);
  });

  it('wakes local listeners at once on notify, once per new head, until unsubscribed', async (t) => {
    const { db } = await postgresFixture(t);
    const local = await notifier(t, db, { pollMs: NO_POLL_MS });
    const heads: number[] = [];
    const stop = local.subscribe((head) => heads.push(head));
    local.notify(5);
    local.notify(5);
    local.notify(3);
    local.notify(7);
    stop();
    local.notify(9);
    assert.deepEqual(heads, [5, 7]);
  });

  it('reconnects after losing its connection and catches up on what it missed', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    const errors: unknown[] = [];
    const local = await notifier(t, db, { pollMs: NO_POLL_MS, onError: (e) => errors.push(e) });
    await db.pool.query('SELECT pg_terminate_backend($1)', [await listenerBackend(db)]);
    await store.appendUnits([unit]); // while disconnected: its notification is lost
    assert.equal(await eventually(heard(local, 1), 'the catch-up after reconnecting'), 1);
    await listenerBackend(db);
    const next = heard(local, 2);
    await store.appendUnits([unit]);
    assert.equal(await eventually(next, 'a notification after reconnecting'), 2);
    assert.ok(errors.length > 0, 'the lost connection was reported');
  });

  it('polls the head as a safety net for lost notifications', async (t) => {
    const { db } = await postgresFixture(t);
    const local = await notifier(t, db, { pollMs: 50 });
    const woken = heard(local, 42);
    // A head that moved with no notification at all.
    await db.pool.query('UPDATE event_log_head SET position = 42 WHERE id = 1');
    assert.equal(await eventually(woken, 'the poll'), 42);
  });
});
