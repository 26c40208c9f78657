import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import { generatedEventId } from '../event-id.ts';
import type { AppendUnit, NewEvent } from '../model.ts';
import { createPostgresEventStore } from './postgres-event-store.ts';

// What the shared contract (store.contract.ts) does not reach: PostgreSQL's own
// failure modes, the commit-time table and index-range edge cases.

const unit = (tenant_id: string, entity_id: string, events: NewEvent[]): AppendUnit => ({
  tenant_id,
  entities: [{ entity_id, expected_version: 'any', events }],
});

const event = (event_type: string, payload: unknown = {}, id?: string): NewEvent => ({
  id,
  event_type,
  payload,
});

describe('PostgreSQL event store', { skip: skipWithoutPostgres }, () => {
  it('rolls back everything on a database error and returns its connection', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    await store.appendUnits([unit('acme', 'e', [event('A')])]);
    // More failures than the pool has connections: each must give its client back.
    for (let i = 0; i < db.pool.options.max + 2; i++) {
      // jsonb refuses \u0000 (the service rejects it first): an error only the database finds.
      await assert.rejects(
        store.appendUnits([unit('acme', 'e', [event('B')]), unit('acme', 'f', [event('C', '\0')])]),
        /unsupported Unicode escape sequence/,
      );
    }
    assert.equal(await store.headPosition(), 1);
    assert.deepEqual(await store.stats('acme'), {
      events: 1,
      entities: 1,
      event_types: 1,
      bytes: 4,
    });
    const [next] = await store.appendUnits([unit('acme', 'e', [event('B')])]);
    assert.deepEqual(next?.ok && next.events.map((e) => e.position), [2]);
  });

  it('commits cleanly when every unit fails or is a retry', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    const id = randomUUID();
    await store.appendUnits([unit('acme', 'e', [event('A', 1, id)])]);
    const outcomes = await store.appendUnits([
      unit('acme', 'e', [event('A', 1, id)]),
      {
        tenant_id: 'acme',
        entities: [{ entity_id: 'e', expected_version: 'no_stream', events: [event('B')] }],
      },
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.ok && o.duplicate),
      [true, false],
    );
    assert.equal(await store.headPosition(), 1);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*) AS n FROM event_commits');
    assert.equal(rows[0]?.n, 1);
  });

  it('answers a malformed or foreign id with nothing rather than an error', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    await store.appendUnits([unit('acme', 'e', [event('A')])]);
    const generated = generatedEventId(1);
    assert.equal((await store.getEvent('acme', generated.toUpperCase()))?.position, 1);
    for (const id of ['', 'not-a-uuid', `${randomUUID()}x`, `{${randomUUID()}}`, "'; --"]) {
      assert.equal(await store.getEvent('acme', id), undefined, id);
    }
  });

  it('records a commit time only when it moves past the previous one', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    for (let i = 0; i < 30; i++) await store.appendUnits([unit('acme', 'e', [event('E')])]);
    const { rows } = await db.pool.query<{ first_position: number; time_ms: number }>(
      'SELECT first_position, time_ms FROM event_commits ORDER BY first_position',
    );
    assert.equal(rows[0]?.first_position, 1);
    const times = rows.map((row) => row.time_ms);
    assert.deepEqual(
      times,
      [...new Set(times)].sort((a, b) => a - b),
    );
    // Every event's time is its commit row's: the first commit at or before its position.
    const events = await store.readLog('acme', 0, 100);
    for (const e of events) {
      const commit = rows.findLast((row) => row.first_position <= e.position);
      assert.equal(Date.parse(e.timestamp), commit?.time_ms);
    }
  });

  it('takes %, _, \\ and the last code point literally in prefixes', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    const ids = ['a%', 'a%b', 'ab', 'a_', 'a\\', 'a\\b', 'ax', 'a\u{10ffff}', 'a\u{10ffff}z', 'b'];
    await store.appendUnits(ids.map((id) => unit('acme', id, [event('E')])));
    const list = async (prefix: string) =>
      (await store.listEntities('acme', { prefix, limit: 50 })).map((e) => e.entity_id);
    const log = async (prefix: string) =>
      (await store.readLog('acme', 0, 50, { entity_prefix: prefix })).map((e) => e.entity_id);
    for (const read of [list, log]) {
      assert.deepEqual(await read('a%'), ['a%', 'a%b']);
      assert.deepEqual(await read('a_'), ['a_']);
      assert.deepEqual(await read('a\\'), ['a\\', 'a\\b']);
      assert.deepEqual(await read('a\u{10ffff}'), ['a\u{10ffff}', 'a\u{10ffff}z']);
    }
  });

  it('merges several types newest first within a time range and cursor', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    await store.appendUnits([unit('acme', 'x', [event('A'), event('B')])]); // 1, 2
    await sleep(5);
    const since = Date.now();
    await sleep(5);
    await store.appendUnits([unit('acme', 'y', [event('A'), event('C'), event('B')])]); // 3-5
    await store.appendUnits([unit('other', 'y', [event('A')]), unit('acme', 'z', [event('C')])]); // 6, 7
    const positions = async (query: Partial<Parameters<typeof store.query>[1]>) =>
      (await store.query('acme', { order: 'desc', limit: 100, ...query })).map((e) => e.position);
    assert.deepEqual(await positions({ event_types: ['C', 'A', 'C'] }), [7, 4, 3, 1]);
    assert.deepEqual(await positions({ event_types: ['A', 'C'], since_ms: since }), [7, 4, 3]);
    assert.deepEqual(
      await positions({ event_types: ['A', 'C'], after_position: 7, limit: 2 }),
      [4, 3],
    );
    assert.deepEqual(await positions({ since_ms: since, after_position: 5 }), [4, 3]);
    assert.deepEqual(
      await positions({ order: 'asc', since_ms: since, after_position: 1 }),
      [3, 4, 5, 7],
    );
  });
});
