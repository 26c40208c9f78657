import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import { assertChainsIntact } from '../chain-append.contract.ts';
import type { AppendUnit } from '../model.ts';
import { openEventStore } from '../open-event-store.ts';
import { ok } from '../store.contract.ts';
import type { EventStore } from '../store.ts';

const APPENDS = 200;

const unitOf = (node: number, n: number): AppendUnit => ({
  tenant_id: 'acme',
  entities: [
    {
      // Shared entities as well as each node's own, so guessed versions go stale too.
      entity_id: n % 3 === 0 ? 'shared' : `node-${node}-${n % 5}`,
      expected_version: 'any',
      events: [{ event_type: 'Appended', payload: { node, n } }],
    },
  ],
});

/** Each node's appends one after another, as one client of each node would send them. */
async function appendFrom(store: EventStore, node: number): Promise<void> {
  for (let n = 0; n < APPENDS; n++) ok((await store.appendUnits([unitOf(node, n)]))[0]);
}

describe('hash chain under concurrent appends from two nodes (postgres)', {
  skip: skipWithoutPostgres,
}, () => {
  it('two pools appending to one tenant at once produce one valid chain', async (t) => {
    const fixture = await postgresFixture(t);
    const first = openEventStore(fixture.db);
    const second = openEventStore(await fixture.open());
    // Audit appends in callers' transactions race the others on the tenant's trail.
    const audited = (async () => {
      for (let n = 0; n < 20; n++) {
        await fixture.db.transaction(async (trx) => {
          const [outcome] = await first.appendInTransaction(trx, [
            { ...unitOf(3, n), tenant_id: '$audit:acme' },
          ]);
          ok(outcome);
        });
      }
    })();
    await Promise.all([appendFrom(first, 1), appendFrom(second, 2), audited]);
    const chains = await assertChainsIntact(fixture.db, 'postgres');
    assert.deepEqual(
      [...chains].map(([partition, chain]) => [partition, chain.events]),
      [
        ['$audit:acme', 20],
        ['acme', 2 * APPENDS],
      ],
    );
  });
});
