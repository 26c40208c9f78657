import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import type { AppendOutcome, AppendUnit, ExpectedVersion } from '../model.ts';
import type { EventStore } from '../store.ts';
import { createPostgresEventStore } from './postgres-event-store.ts';

const TENANT = 'acme';

const unitOf = (entity_id: string, events: number, expected: ExpectedVersion): AppendUnit => ({
  tenant_id: TENANT,
  entities: [
    {
      entity_id,
      expected_version: expected,
      events: Array.from({ length: events }, (_, i) => ({ event_type: 'E', payload: { i } })),
    },
  ],
});

/** Follows the tenant log with a cursor until `done()` and the head is reached. */
async function follow(store: EventStore, done: () => boolean): Promise<number[]> {
  const seen: number[] = [];
  let cursor = 0;
  for (;;) {
    const finished = done();
    const batch = await store.readLog(TENANT, cursor, 50);
    for (const event of batch) seen.push(event.position);
    cursor = batch.at(-1)?.position ?? cursor;
    if (batch.length === 0 && finished && cursor === (await store.headPosition())) return seen;
  }
}

describe('PostgreSQL append ordering across nodes', { skip: skipWithoutPostgres }, () => {
  it('makes positions visible in order, gapless, while two nodes append at once', async (t) => {
    const { db, open } = await postgresFixture(t);
    const nodes = [createPostgresEventStore(db), createPostgresEventStore(await open())];
    let writing = true;
    const readers = nodes.map((store) => follow(store, () => !writing));

    let written = 0;
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const calls = nodes.flatMap((store, node) =>
        Array.from({ length: 20 }, (_, call) =>
          store.appendUnits(
            Array.from({ length: 4 }, (_, u) => unitOf(`n${node}-c${call}-u${u % 2}`, 3, 'any')),
          ),
        ),
      );
      for (const outcomes of await Promise.all(calls)) {
        for (const outcome of outcomes) if (outcome.ok) written += outcome.events.length;
      }
    }
    writing = false;

    assert.equal(written, rounds * 2 * 20 * 4 * 3);
    const expected = Array.from({ length: written }, (_, i) => i + 1);
    for (const seen of await Promise.all(readers)) assert.deepEqual(seen, expected);
    const perEntity = await nodes[0]?.readStream(TENANT, 'n1-c7-u1', {
      direction: 'forward',
      limit: 1000,
    });
    assert.deepEqual(
      perEntity?.map((event) => event.version),
      Array.from({ length: rounds * 2 * 3 }, (_, i) => i),
    );
  });

  it('lets exactly one of many appenders on two nodes win each expected version', async (t) => {
    const { db, open } = await postgresFixture(t);
    const nodes = [createPostgresEventStore(db), createPostgresEventStore(await open())];
    const racers = 12;
    // Each winner appends two events, so the next round expects the version it reached.
    for (let round = 0; round < 7; round++) {
      const expected: ExpectedVersion = round === 0 ? 'no_stream' : round * 2 - 1;
      const outcomes: AppendOutcome[] = (
        await Promise.all(
          nodes.flatMap((store) =>
            Array.from({ length: racers }, () => store.appendUnits([unitOf('race', 2, expected)])),
          ),
        )
      ).flat();
      const winners = outcomes.filter((outcome) => outcome.ok);
      assert.equal(winners.length, 1, `one winner expecting ${expected}`);
      for (const loser of outcomes.filter((outcome) => !outcome.ok)) {
        assert.deepEqual(loser, {
          ok: false,
          reason: 'stream_version_conflict',
          entity_id: 'race',
          expected,
          actual: round * 2 + 1,
        });
      }
    }
    const stream = await nodes[1]?.readStream(TENANT, 'race', { direction: 'forward', limit: 100 });
    assert.deepEqual(
      stream?.map((event) => event.version),
      Array.from({ length: 14 }, (_, i) => i),
    );
    assert.deepEqual(
      stream?.map((event) => event.position),
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
  });
});
