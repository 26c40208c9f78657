import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { createSseParser, openSse } from '../../../test/helpers/sse-client.ts';
import {
  type SubscriptionTestServer,
  startSubscriptionServer,
} from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs } from '../../../test/helpers/ws-client.ts';
import type { StoredEvent } from '../model.ts';

/** Far more than any socket buffer holds, in one commit: the live subscriber must overflow. */
const BULK_EVENTS = 800;
const PAYLOAD = 'x'.repeat(24_000);

async function appendBulk(server: SubscriptionTestServer): Promise<number[]> {
  const events = Array.from({ length: BULK_EVENTS }, () => ({
    event_type: 'Bulk',
    payload: PAYLOAD,
  }));
  const written = await server.events.service.appendToEntity(
    server.tenantId,
    'bulk',
    events,
    'any',
    String,
  );
  return written.events.map((event) => event.position);
}

/** Waits until the paused subscriber is live, appends the bulk, waits until the server dropped it. */
async function overflow(server: SubscriptionTestServer): Promise<number[]> {
  await until(() => server.stats().live === 1, 'the subscriber is live');
  const written = await appendBulk(server);
  await until(() => server.stats().tenants === 0, 'the slow subscriber is closed');
  return written;
}

for (const engine of testEngines()) {
  describe(`a subscriber that stops reading, on ${engine}`, () => {
    it('SSE: is ended with subscriber_too_slow and its last position, and can resume', async (t) => {
      const server = await startSubscriptionServer(engine, { buffer_events: 10 });
      t.after(() => server.close());
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        get(`${server.baseUrl}/events/subscribe`, resolve).on('error', reject);
      });
      response.setEncoding('utf8');
      response.pause();
      const written = await overflow(server);

      const frames = createSseParser();
      const received: ReturnType<typeof frames.push> = [];
      response.on('data', (chunk: string) => received.push(...frames.push(chunk)));
      response.resume();
      await once(response, 'end');
      const last = received.pop();
      assert.equal(last?.event, 'error');
      const reason = JSON.parse(last?.data ?? '') as { code: string; last_position: number };
      const delivered = received.map((frame) => Number(frame.id));
      assert.ok(delivered.length < BULK_EVENTS, 'the subscriber was cut off');
      assert.deepEqual(delivered, written.slice(0, delivered.length));
      assert.deepEqual(reason, {
        code: 'subscriber_too_slow',
        last_position: delivered.at(-1) ?? (written[0] as number) - 1,
      });

      const resumed = await openSse(`${server.baseUrl}/events/subscribe`, {
        'last-event-id': String(reason.last_position),
      });
      t.after(() => resumed.close());
      const rest = await resumed.events(BULK_EVENTS - delivered.length);
      assert.deepEqual([...delivered, ...rest.map((e) => e.position)], written);
    });

    it('WebSocket: is closed with 4008, subscriber_too_slow and its last position, and can resume', async (t) => {
      const server = await startSubscriptionServer(engine, { buffer_events: 10 });
      t.after(() => server.close());
      const ws = await openWs(`${server.baseUrl.replace(/^http/, 'ws')}/events/stream`);
      ws.socket.pause();
      const written = await overflow(server);

      ws.socket.resume();
      const delivered: StoredEvent[] = [];
      for (let message = await ws.next(); message; message = await ws.next()) {
        if (message.type === 'event') delivered.push(message.event);
      }
      const { code, reason } = await ws.closed;
      assert.equal(code, 4008);
      const parsed = JSON.parse(reason) as { code: string; last_position: number };
      const positions = delivered.map((e) => e.position);
      assert.ok(positions.length < BULK_EVENTS, 'the subscriber was cut off');
      assert.deepEqual(positions, written.slice(0, positions.length));
      assert.deepEqual(parsed, {
        code: 'subscriber_too_slow',
        last_position: positions.at(-1) ?? (written[0] as number) - 1,
      });

      const resumed = await openWs(
        `${server.baseUrl.replace(/^http/, 'ws')}/events/stream?from_position=${parsed.last_position}`,
      );
      t.after(() => resumed.close());
      const rest = await resumed.events(BULK_EVENTS - positions.length);
      assert.deepEqual([...positions, ...rest.map((e) => e.position)], written);
    });
  });
}
