import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { createSseParser, type SseFrame } from '../../../test/helpers/sse-client.ts';
import {
  type SubscriptionTestServer,
  serveSubscriptions,
} from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';

/** 200 events of ~24 KB in one commit: ~4.8 MB, far more than any socket buffer holds. */
const BULK_EVENTS = 200;
const PAYLOAD = 'x'.repeat(24_000);

/** A subscriber that reads nothing: a raw response, paused. */
async function stalledSubscriber(server: SubscriptionTestServer): Promise<IncomingMessage> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(`${server.baseUrl}/events/subscribe`, { agent: false }, resolve).on('error', reject);
  });
  response.setEncoding('utf8');
  response.pause();
  return response;
}

/** Reads what the server sent until it ended the stream; the last frame is its reason. */
async function drain(response: IncomingMessage): Promise<SseFrame[]> {
  const parser = createSseParser();
  const frames: SseFrame[] = [];
  response.on('data', (chunk: string) => frames.push(...parser.push(chunk)));
  response.resume();
  await once(response, 'end');
  return frames;
}

function appendBulk(server: SubscriptionTestServer) {
  return server.events.service.appendToEntity(
    server.tenantId,
    'bulk',
    Array.from({ length: BULK_EVENTS }, () => ({ event_type: 'Bulk', payload: PAYLOAD })),
    'any',
    String,
  );
}

/** The server's end frame: subscriber_too_slow, resuming after the last event it delivered. */
function assertClosedResumable(frames: SseFrame[]): void {
  const last = frames.pop();
  assert.equal(last?.event, 'error');
  const reason = JSON.parse(last?.data ?? '') as { code: string; last_position: number };
  assert.equal(reason.code, 'subscriber_too_slow');
  const delivered = frames.filter((frame) => frame.event === 'event');
  assert.ok(delivered.length < BULK_EVENTS, 'the subscriber was cut off');
  const lastId = delivered.at(-1)?.id;
  if (lastId !== undefined) assert.equal(reason.last_position, Number(lastId));
}

for (const engine of testEngines()) {
  describe(`subscriber byte budgets, on ${engine}`, () => {
    it('closes a stalled subscriber over subscriptions.buffer_bytes, however few events it holds', async (t) => {
      // The event count budget alone would let it hold all 200 events (4.8 MB).
      const server = await serveSubscriptions(t, engine, {
        buffer_events: 1_000_000,
        buffer_bytes: 256 * 1024,
      });
      const response = await stalledSubscriber(server);
      await until(() => server.stats().live === 1, 'the subscriber is live');
      await appendBulk(server);
      await until(() => server.stats().tenants === 0, 'the stalled subscriber is closed');
      assert.equal(server.stats().buffered_bytes, 0, 'its queue was released');
      assert.equal(server.stats().closed_too_slow, 1);
      assertClosedResumable(await drain(response));
      const metrics = await server.app.inject({ url: '/metrics' });
      assert.match(metrics.body, /^subscriptions_closed_too_slow_total 1$/m);
      assert.match(metrics.body, /^subscription_buffered_bytes 0$/m);
    });

    it('closes stalled subscribers once together they hold more than subscriptions.process_buffer_bytes', async (t) => {
      const server = await serveSubscriptions(t, engine, {
        buffer_events: 1_000_000,
        buffer_bytes: 64 * 1024 * 1024,
        process_buffer_bytes: 512 * 1024,
      });
      const first = await stalledSubscriber(server);
      const second = await stalledSubscriber(server);
      await until(() => server.stats().live === 2, 'both subscribers are live');
      await appendBulk(server);
      await until(() => server.stats().tenants === 0, 'both stalled subscribers are closed');
      assert.equal(server.stats().buffered_bytes, 0);
      assert.equal(server.stats().closed_too_slow, 2);
      assertClosedResumable(await drain(first));
      assertClosedResumable(await drain(second));
    });
  });
}
