import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { auditPartition } from '../../audit/audit-entry.ts';
import { openEventStore } from '../../events/open-event-store.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { WebhookEndpoint } from '../endpoints/endpoint-record.ts';
import type { WebhookFilters } from '../endpoints/filters.ts';
import { createLogReader } from './log-reader.ts';

async function storeFor(t: TestContext, engine: Engine) {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  return openEventStore(db);
}

const endpoint = (filters: Partial<WebhookFilters>): WebhookEndpoint =>
  ({
    id: 'wh_test',
    tenant_id: 'acme',
    filters: { event_types: [], entity_prefix: null, platform_events: [], ...filters },
  }) as WebhookEndpoint;

for (const engine of testEngines()) {
  describe(`webhook log reader (${engine})`, () => {
    it('merges the tenant’s log and its audit trail by position, filtered, never another tenant’s', async (t) => {
      const store = await storeFor(t, engine);
      // Interleaved: acme event, acme audit, globex event, acme event, ...
      const append = (tenant: string, entity: string, type: string) =>
        store.appendUnits([
          {
            tenant_id: tenant,
            entities: [
              {
                entity_id: entity,
                expected_version: 'any',
                events: [{ event_type: type, payload: {} }],
              },
            ],
          },
        ]);
      for (let round = 0; round < 5; round += 1) {
        await append('acme', `order-${round}`, 'order.placed');
        await append(auditPartition('acme'), '$audit', 'user.created');
        await append('globex', `order-${round}`, 'order.placed');
        await append('acme', `cart-${round}`, 'cart.filled');
      }
      const read = createLogReader(store);
      const both = await read(
        endpoint({ event_types: ['order.*'], platform_events: ['user.*'] }),
        0,
        100,
      );
      assert.equal(both.caughtUp, true);
      assert.equal(both.scannedTo, await store.headPosition());
      assert.deepEqual(
        both.due.map((due) => `${due.source}:${due.event.event_type}`),
        Array.from({ length: 5 }, () => ['events:order.placed', 'platform:user.created']).flat(),
      );
      const positions = both.due.map((due) => due.event.position);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      assert.ok(both.due.every((due) => due.event.tenant_id !== 'globex'));

      const prefixed = await read(endpoint({ event_types: ['*'], entity_prefix: 'cart-' }), 0, 100);
      assert.deepEqual(
        prefixed.due.map((due) => due.event.entity_id),
        ['cart-0', 'cart-1', 'cart-2', 'cart-3', 'cart-4'],
      );
    });

    it('is sure of the merge only up to the lowest end of a full batch, and walks on from there', async (t) => {
      const store = await storeFor(t, engine);
      for (let n = 0; n < 6; n += 1) {
        await store.appendUnits([
          {
            tenant_id: 'acme',
            entities: [
              {
                entity_id: 'a',
                expected_version: 'any',
                events: [
                  { event_type: 'x', payload: {} },
                  { event_type: 'x', payload: {} },
                ],
              },
            ],
          },
        ]);
        await store.appendUnits([
          {
            tenant_id: auditPartition('acme'),
            entities: [
              {
                entity_id: '$audit',
                expected_version: 'any',
                events: [{ event_type: 'y', payload: {} }],
              },
            ],
          },
        ]);
      }
      const read = createLogReader(store);
      const target = endpoint({ event_types: ['x'], platform_events: ['y'] });
      const seen: number[] = [];
      let cursor = 0;
      for (let steps = 0; steps < 20; steps += 1) {
        const step = await read(target, cursor, 3);
        for (const due of step.due) seen.push(due.event.position);
        assert.ok(step.scannedTo >= cursor);
        cursor = step.scannedTo;
        if (step.caughtUp) break;
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 18 }, (_, n) => n + 1),
        'every position once, in order',
      );
    });
  });
}
