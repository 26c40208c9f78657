import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSse } from '../../../test/helpers/sse-client.ts';
import { serveSubscriptions } from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';

const serve = serveSubscriptions;

const positions = (events: readonly { position: number }[]) => events.map((e) => e.position);

for (const engine of testEngines()) {
  describe(`GET /events/subscribe (SSE) on ${engine}`, () => {
    it('catches up from from_position, then delivers new events live', async (t) => {
      const server = await serve(t, engine);
      const before = await server.append('order-1', 'Placed', 'Paid', 'Shipped');
      // The stream must never be compressed: a compressor buffers it.
      const sse = await openSse(`${server.baseUrl}/events/subscribe?from_position=0`, {
        'accept-encoding': 'br, gzip',
      });
      t.after(() => sse.close());
      assert.equal(sse.status, 200);
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
      assert.ok(sse.headers['x-request-id']);
      assert.equal(sse.headers['cache-control'], 'no-store');
      assert.equal(sse.headers['content-encoding'], undefined);
      const caught = await sse.events(3);
      assert.deepEqual(positions(caught), positions(before.events));
      assert.deepEqual(
        caught.map((e) => [e.entity_id, e.event_type, e.version, e.tenant_id]),
        [
          ['order-1', 'Placed', 0, server.tenantId],
          ['order-1', 'Paid', 1, server.tenantId],
          ['order-1', 'Shipped', 2, server.tenantId],
        ],
      );
      const after = await server.append('order-2', 'Placed', 'Paid');
      assert.deepEqual(positions(await sse.events(2)), positions(after.events));
    });

    it('without from_position delivers only events committed after the response started', async (t) => {
      const server = await serve(t, engine);
      await server.append('order-1', 'Placed', 'Paid');
      const sse = await openSse(`${server.baseUrl}/events/subscribe`);
      t.after(() => sse.close());
      const fresh = await server.append('order-1', 'Shipped');
      const [event] = await sse.events(1);
      assert.equal(event?.position, fresh.events[0]?.position);
      assert.equal(event?.event_type, 'Shipped');
    });

    it('resumes after Last-Event-ID, which wins over from_position', async (t) => {
      const server = await serve(t, engine);
      const written = await server.append('order-1', 'A', 'B', 'C', 'D', 'E');
      const seen = written.events[2]?.position as number;
      const sse = await openSse(`${server.baseUrl}/events/subscribe?from_position=0`, {
        'last-event-id': String(seen),
      });
      t.after(() => sse.close());
      assert.deepEqual(positions(await sse.events(2)), [seen + 1, seen + 2]);
    });

    it('filters by entity id prefix and by any of several types, in catch-up and live', async (t) => {
      const server = await serve(t, engine);
      const wanted: number[] = [];
      const keep = async (entityId: string, type: string, match: boolean) => {
        const { events } = await server.append(entityId, type);
        if (match) wanted.push(events[0]?.position as number);
      };
      await keep('order-1', 'Placed', true);
      await keep('order-1', 'Noted', false);
      await keep('customer-1', 'Placed', false);
      await keep('order-2', 'Cancelled', true);
      const query = 'from_position=0&entity_id=order-&event_type=Placed&event_type=Cancelled';
      const sse = await openSse(`${server.baseUrl}/events/subscribe?${query}`);
      t.after(() => sse.close());
      assert.deepEqual(positions(await sse.events(2)), wanted);
      await keep('orders', 'Placed', false);
      await keep('order-3', 'Noted', false);
      await keep('order-3', 'Placed', true);
      assert.deepEqual(positions(await sse.events(1)), wanted.slice(2));

      const single = await openSse(
        `${server.baseUrl}/events/subscribe?from_position=0&event_type=Noted`,
      );
      t.after(() => single.close());
      assert.deepEqual(
        (await single.events(2)).map((e) => e.event_type),
        ['Noted', 'Noted'],
      );
    });

    it("never delivers another tenant's events", async (t) => {
      const server = await serve(t, engine);
      const store = server.events.store;
      const other = (id: string) =>
        store.appendUnits([
          {
            tenant_id: 'other-tenant',
            entities: [
              {
                entity_id: id,
                expected_version: 'any',
                events: [{ event_type: 'Placed', payload: {} }],
              },
            ],
          },
        ]);
      await other('order-1');
      const mine = await server.append('order-1', 'Placed');
      const sse = await openSse(`${server.baseUrl}/events/subscribe?from_position=0`);
      t.after(() => sse.close());
      await other('order-2');
      // Through the service too, so its commit wakes the tailer.
      await server.events.service.appendToEntity(
        'other-tenant',
        'order-3',
        [{ event_type: 'Placed', payload: {} }],
        'any',
        String,
      );
      const later = await server.append('order-2', 'Placed');
      const received = await sse.events(2);
      assert.deepEqual(positions(received), [mine.events[0]?.position, later.events[0]?.position]);
      assert.ok(received.every((e) => e.tenant_id === server.tenantId));
    });

    it('sends a heartbeat comment while idle', async (t) => {
      const server = await serve(t, engine, { heartbeat_ms: 1000 });
      const sse = await openSse(`${server.baseUrl}/events/subscribe`);
      t.after(() => sse.close());
      assert.deepEqual(await sse.next(), { comment: 'heartbeat' });
    });

    it('rejects bad parameters with a 400 problem before the stream starts', async (t) => {
      const server = await serve(t, engine);
      const bad = [
        ['from_position=-1', {}],
        ['from_position=abc', {}],
        ['from_position=1.5', {}],
        ['entity_id=', {}],
        [`entity_id=${'x'.repeat(257)}`, {}],
        ['entity_id=%20order', {}],
        ['event_type=bad%20type', {}],
        ['limit=10', {}],
        ['', { 'last-event-id': 'abc' }],
      ] as const;
      for (const [query, headers] of bad) {
        const response = await fetch(`${server.baseUrl}/events/subscribe?${query}`, { headers });
        assert.equal(response.status, 400, query);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
        const problem = (await response.json()) as { code: string };
        assert.equal(problem.code, 'validation_failed', query);
      }
      assert.deepEqual(server.stats(), {
        tenants: 0,
        catching_up: 0,
        live: 0,
        buffered_bytes: 0,
        closed_too_slow: 0,
      });
    });

    it('ends open streams with a reason when the app closes, and app.close() finishes', async (t) => {
      const server = await serve(t, engine);
      const written = await server.append('order-1', 'Placed');
      const sse = await openSse(`${server.baseUrl}/events/subscribe?from_position=0`);
      await sse.events(1);
      await server.close();
      const frame = await sse.next();
      assert.equal(frame?.event, 'error');
      assert.deepEqual(JSON.parse(frame?.data ?? ''), {
        code: 'service_unavailable',
        last_position: written.events[0]?.position,
      });
      assert.equal(await sse.next(), undefined);
    });

    it('forgets a subscriber whose client went away', async (t) => {
      const server = await serve(t, engine);
      const sse = await openSse(`${server.baseUrl}/events/subscribe`);
      await until(() => server.stats().live === 1, 'the subscriber is live');
      sse.close();
      await until(() => server.stats().tenants === 0, 'the tailer stopped');
    });
  });
}
