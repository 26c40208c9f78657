import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type SubscriptionTestServer,
  serveSubscriptions,
} from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs, refusedUpgrade } from '../../../test/helpers/ws-client.ts';

const serve = serveSubscriptions;

const wsUrl = (server: SubscriptionTestServer, query = '') =>
  `${server.baseUrl.replace(/^http/, 'ws')}/events/stream${query ? `?${query}` : ''}`;

const positions = (events: readonly { position: number }[]) => events.map((e) => e.position);

for (const engine of testEngines()) {
  describe(`GET /events/stream (WebSocket) on ${engine}`, () => {
    it('catches up from from_position, then delivers new events live', async (t) => {
      const server = await serve(t, engine);
      const before = await server.append('order-1', 'Placed', 'Paid');
      const ws = await openWs(wsUrl(server, 'from_position=0'));
      t.after(() => ws.close());
      const caught = await ws.events(2);
      assert.deepEqual(positions(caught), positions(before.events));
      assert.deepEqual(
        caught.map((e) => [e.tenant_id, e.entity_id, e.event_type, e.version]),
        [
          [server.tenantId, 'order-1', 'Placed', 0],
          [server.tenantId, 'order-1', 'Paid', 1],
        ],
      );
      const after = await server.append('order-2', 'Placed');
      assert.deepEqual(positions(await ws.events(1)), positions(after.events));
    });

    it('without from_position delivers only new events; filters apply', async (t) => {
      const server = await serve(t, engine);
      await server.append('order-1', 'Placed');
      const ws = await openWs(wsUrl(server, 'entity_id=order-&event_type=Paid'));
      t.after(() => ws.close());
      await server.append('order-1', 'Placed');
      await server.append('customer-1', 'Paid');
      const paid = await server.append('order-1', 'Paid');
      assert.deepEqual(positions(await ws.events(1)), positions(paid.events));
    });

    it('sends a heartbeat message while idle', async (t) => {
      const server = await serve(t, engine, { heartbeat_ms: 1000 });
      const ws = await openWs(wsUrl(server));
      t.after(() => ws.close());
      assert.deepEqual(await ws.next(), { type: 'heartbeat' });
    });

    it('refuses bad parameters, and a request without an upgrade, with a 400 problem', async (t) => {
      const server = await serve(t, engine);
      for (const query of ['from_position=-1', 'event_type=no%20spaces', 'entity_id=', 'x=1']) {
        const refused = await refusedUpgrade(wsUrl(server, query));
        assert.equal(refused.status, 400, query);
        assert.match(refused.contentType, /^application\/problem\+json/);
        assert.equal(refused.body.code, 'validation_failed', query);
      }
      const plain = await fetch(`${server.baseUrl}/events/stream`);
      assert.equal(plain.status, 400);
      assert.equal(((await plain.json()) as { code: string }).code, 'bad_request');
      assert.deepEqual(server.stats(), {
        tenants: 0,
        catching_up: 0,
        live: 0,
        buffered_bytes: 0,
        closed_too_slow: 0,
      });
    });

    it('closes open sockets with 1001 and a reason when the app closes', async (t) => {
      const server = await serve(t, engine);
      const written = await server.append('order-1', 'Placed');
      const ws = await openWs(wsUrl(server, 'from_position=0'));
      await ws.events(1);
      await server.close();
      const { code, reason } = await ws.closed;
      assert.equal(code, 1001);
      assert.deepEqual(JSON.parse(reason), {
        code: 'service_unavailable',
        last_position: written.events[0]?.position,
      });
    });

    it('forgets a subscriber whose client went away', async (t) => {
      const server = await serve(t, engine);
      const ws = await openWs(wsUrl(server));
      await until(() => server.stats().live === 1, 'the subscriber is live');
      ws.socket.terminate();
      await until(() => server.stats().tenants === 0, 'the tailer stopped');
    });
  });
}
