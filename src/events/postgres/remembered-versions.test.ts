import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import type { AppendOutcome, ExpectedVersion } from '../model.ts';
import type { EventStore } from '../store.ts';
import { createPostgresEventStore } from './postgres-event-store.ts';

// Each store remembers the versions it wrote and appends on them without reading
// (append-units.ts). These tests make that memory wrong, the ways production can:
// another node appends, or a restore rewinds the database.

function append(store: EventStore, expected: ExpectedVersion = 'any', count = 1) {
  return store.appendUnits([
    {
      tenant_id: 'acme',
      entities: [
        {
          entity_id: 'order-1',
          expected_version: expected,
          events: Array.from({ length: count }, (_, i) => ({ event_type: 'E', payload: i })),
        },
      ],
    },
  ]);
}

function versionsOf(outcomes: AppendOutcome[]): number[] {
  const [outcome] = outcomes;
  assert.ok(outcome?.ok, JSON.stringify(outcome));
  return outcome.events.map((event) => event.version);
}

async function storedVersions(store: EventStore): Promise<number[]> {
  const events = await store.readStream('acme', 'order-1', { direction: 'forward', limit: 100 });
  return events.map((event) => event.version);
}

describe('PostgreSQL appends on remembered versions', { skip: skipWithoutPostgres }, () => {
  it('stays gapless when two nodes take turns on one entity', async (t) => {
    const { db, open } = await postgresFixture(t);
    const a = createPostgresEventStore(db);
    const b = createPostgresEventStore(await open());
    const written: number[] = [];
    for (let turn = 0; turn < 6; turn++) {
      written.push(...versionsOf(await append(turn % 2 === 0 ? a : b, 'any', 2)));
    }
    assert.deepEqual(written, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(await storedVersions(a), written);
  });

  it('judges expected versions on stored versions, never on what it remembers', async (t) => {
    const { db, open } = await postgresFixture(t);
    const a = createPostgresEventStore(db);
    const b = createPostgresEventStore(await open());
    versionsOf(await append(a)); // a remembers version 0
    versionsOf(await append(b, 0)); // now at 1, which a does not know
    // On memory this would be a conflict (0 ≠ 1); the stored version says go.
    assert.deepEqual(versionsOf(await append(a, 1)), [2]);
    versionsOf(await append(b, 2));
    // And a conflict reports the stored version, not the remembered one.
    assert.deepEqual(await append(a, 2), [
      {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'order-1',
        expected: 2,
        actual: 3,
      },
    ]);
    assert.deepEqual(await storedVersions(a), [0, 1, 2, 3]);
  });

  it('continues from the stored version after the database was rewound', async (t) => {
    const { db } = await postgresFixture(t);
    const store = createPostgresEventStore(db);
    versionsOf(await append(store, 'any', 3)); // remembers version 2
    // What restoring an older backup under a running node amounts to.
    await db.pool.query('DELETE FROM events WHERE version > 0');
    await db.pool.query('UPDATE entities SET version = 0');
    assert.deepEqual(versionsOf(await append(store)), [1]);
    assert.deepEqual(await storedVersions(store), [0, 1]);
  });
});
