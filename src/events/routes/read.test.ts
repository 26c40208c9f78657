import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { append, call, eventsApp, tenantApp } from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`read routes (${engine})`, () => {
    it('reads a stream in pages forward and backward with next_cursor', async (t) => {
      const { app } = await eventsApp(t, engine);
      await append(
        app,
        's',
        Array.from({ length: 5 }, (_, i) => ({ event_type: 'E', payload: i })),
      );
      const page = async (query: string) =>
        (await call(app, 'GET', `/entities/s/events?${query}`)).body;
      const first = await page('limit=2');
      assert.deepEqual(
        first.events?.map((e) => e.version),
        [0, 1],
      );
      assert.equal(first.next_cursor, 2);
      const last = await page('limit=2&from_version=4');
      assert.deepEqual(
        last.events?.map((e) => e.version),
        [4],
      );
      assert.equal(last.next_cursor, null);
      const back = await page('direction=backward&limit=3');
      assert.deepEqual(
        back.events?.map((e) => e.version),
        [4, 3, 2],
      );
      assert.equal(back.next_cursor, 1);
      const end = await page('direction=backward&from_version=1&limit=2');
      assert.equal(end.next_cursor, null);
      const event = end.events?.[0] as Record<string, unknown>;
      assert.deepEqual(Object.keys(event).sort(), [
        'entity_id',
        'event_type',
        'id',
        'metadata',
        'payload',
        'position',
        'tenant_id',
        'timestamp',
        'version',
      ]);
      assert.deepEqual((await page('limit=5&from_version=9')).events, []);
    });

    it('gets an event by id and lists entities with prefix and cursor', async (t) => {
      const { app } = await eventsApp(t, engine);
      const written = await append(app, 'order-1', [{ event_type: 'A', payload: { n: 1 } }]);
      await append(app, 'order-2', [
        { event_type: 'A', payload: 1 },
        { event_type: 'B', payload: 2 },
      ]);
      await append(app, 'user-1', [{ event_type: 'A', payload: 1 }]);
      const id = written.body.events?.[0]?.id as string;
      const got = await call(app, 'GET', `/events/${id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.payload, { n: 1 });
      assert.equal(got.body.entity_id, 'order-1');
      const missing = await call(app, 'GET', '/events/00000000-0000-4000-8000-00000000ffff');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'event_not_found');
      assert.equal((await call(app, 'GET', '/events/nope')).status, 400);

      const first = await call(app, 'GET', '/entities?limit=2');
      assert.deepEqual(
        (first.body.entities as { entity_id: string }[]).map((e) => e.entity_id),
        ['order-1', 'order-2'],
      );
      assert.equal(first.body.next_cursor, 'order-2');
      const rest = await call(app, 'GET', '/entities?limit=2&after=order-2');
      assert.deepEqual(rest.body.entities, [
        {
          entity_id: 'user-1',
          version: 0,
          last_timestamp: (rest.body.entities as { last_timestamp: string }[])[0]?.last_timestamp,
        },
      ]);
      assert.equal(rest.body.next_cursor, null);
      const orders = await call(app, 'GET', '/entities?prefix=order-');
      assert.deepEqual(
        (orders.body.entities as { entity_id: string; version: number }[]).map((e) => [
          e.entity_id,
          e.version,
        ]),
        [
          ['order-1', 0],
          ['order-2', 1],
        ],
      );
    });

    it('rejects bad read parameters with 400 validation_failed', async (t) => {
      const { app } = await eventsApp(t, engine);
      for (const url of [
        '/entities/s/events?limit=0',
        '/entities/s/events?limit=10001',
        '/entities/s/events?direction=sideways',
        '/entities/s/events?from_version=-1',
        '/entities/s/events?from_version=abc',
        '/entities/s/events?unknown=1',
        '/entities?limit=1001',
        '/entities?prefix=',
      ]) {
        const reply = await call(app, 'GET', url);
        assert.equal(reply.status, 400, url);
        assert.equal(reply.body.code, 'validation_failed', url);
      }
    });

    it('counts only the tenant’s own events in stats', async (t) => {
      const base = await eventsApp(t, engine);
      const other = await tenantApp(t, base, 'other');
      await append(base.app, 'a', [
        { event_type: 'A', payload: 'xy' },
        { event_type: 'B', payload: 1 },
      ]);
      await append(other, 'b', [{ event_type: 'C', payload: 1 }]);
      assert.deepEqual((await call(base.app, 'GET', '/stats')).body, {
        events: 2,
        entities: 1,
        event_types: 2,
        bytes: 9,
      });
      assert.deepEqual((await call(other, 'GET', '/stats')).body, {
        events: 1,
        entities: 1,
        event_types: 1,
        bytes: 3,
      });
      assert.deepEqual((await call(other, 'GET', '/entities')).body.entities, [
        {
          entity_id: 'b',
          version: 0,
          last_timestamp: (
            (await call(other, 'GET', '/entities')).body.entities as { last_timestamp: string }[]
          )[0]?.last_timestamp,
        },
      ]);
    });
  });
}
