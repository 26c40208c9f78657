import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { testEngines } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';
import { webhookWorld } from '../helpers/webhook-fixture.ts';
import { startWebhookSink } from '../helpers/webhook-sink.ts';

/**
 * Issue 21: 10,000 events to one endpoint, delivered with bounded memory. The backlog
 * is appended while the endpoint is disabled, then the endpoint is enabled: the
 * dispatcher faces all of it at once. Everything arrives exactly once, in position
 * order; while it does, the delivery log never lags the receiver by more than one
 * flush (the dispatcher holds at most FLUSH_EVERY unwritten deliveries), and the heap
 * that survives a collection grows by far less than the backlog's size, on the API's
 * thread and on the delivery thread alike (which runs from before the measure starts:
 * another endpoint is enabled first).
 */

const EVENTS = 10_000;
const PER_REQUEST = 500;
/** Each event's payload carries this much text: the backlog is ~EVENTS × PAD bytes twice over. */
const PAD = 1000;
/** dispatcher.ts: delivered attempts and the cursor are written every 50 deliveries. */
const FLUSH_EVERY = 50;
/**
 * Growth of the collected heap allowed while delivering. The backlog's payloads alone
 * are 10 MB, and a message body copies each; the dispatcher reads 100 events at a time,
 * so what it keeps is a few hundred kB. The receiver's own record of 10,000 arrivals and
 * the log's statement caches take a few MB more.
 */
const MAX_HEAP_GROWTH_MB = 16;
/** The whole process (V8 may keep freed pages, SQLite and pg buffers, two threads): generous. */
const MAX_RSS_GROWTH_MB = 150;
/** How often the heap is collected and measured while delivering. */
const SAMPLE_EVERY_MS = 2000;
/** A safety net against a hang, not a speed limit: a loaded machine is slow. */
const TEST_DEADLINE_MS = 10 * 60_000;

/**
 * A full collection: the test runner does not pass --expose-gc, so the flag is set now
 * and the function taken from a fresh context (where V8 installs it).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

for (const engine of testEngines()) {
  describe(`webhooks: ${EVENTS} events to one endpoint (${engine})`, () => {
    it('delivers every event exactly once, in position order, with bounded memory', {
      timeout: TEST_DEADLINE_MS,
    }, async (t) => {
      const world = await webhookWorld(t, engine);
      const sink = await startWebhookSink();
      t.after(() => sink.close());
      /** The delivery thread's heap in use, after a collection (this process exposes gc). */
      const deliveryHeap = async () => {
        const metrics = (await world.test.app.inject({ url: '/metrics' })).body;
        return Number(/^tessera_webhook_delivery_heap_bytes (\d+)$/m.exec(metrics)?.[1] ?? 0);
      };
      // An enabled endpoint nothing matches starts the delivery thread before the measure.
      const idle = await world.api('POST', '/webhooks', {
        body: { url: sink.url, event_types: ['nothing.matches'] },
      });
      assert.equal(idle.status, 201, JSON.stringify(idle.json));
      await until(async () => (await deliveryHeap()) > 0, 'the delivery thread running');
      const made = await world.api('POST', '/webhooks', {
        body: { url: sink.url, event_types: ['volume.*'], enabled: false },
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      sink.verifyWith(made.json.secret);
      const id: string = made.json.id;

      const appendStarted = performance.now();
      const positions: number[] = [];
      for (let request = 0; request < EVENTS / PER_REQUEST; request++) {
        const reply = await world.api('POST', `/entities/volume-${request % 7}/events`, {
          body: {
            events: Array.from({ length: PER_REQUEST }, (_, n) => ({
              event_type: 'volume.item',
              payload: { request, n, pad: `${request}-${n}-`.padEnd(PAD, 'x') },
            })),
          },
        });
        assert.equal(reply.status, 201, `append ${request}: ${JSON.stringify(reply.json)}`);
        for (const event of reply.json.events) positions.push(event.position);
      }
      const appendSeconds = (performance.now() - appendStarted) / 1000;

      // Baseline: the backlog is in the database, nothing of it in memory.
      gc();
      const baseline = process.memoryUsage();
      const deliveryBaseline = await deliveryHeap();
      const countLogged = async () => {
        const row = await world.test.db.kysely
          .selectFrom('webhook_attempts')
          .select((eb) => eb.fn.countAll<number | string>().as('count'))
          .where('endpoint_id', '=', id)
          .where('outcome', '=', 'delivered')
          .executeTakeFirstOrThrow();
        return Number(row.count);
      };
      /** The endpoint's persisted cursor: written with the delivered attempts, in one transaction. */
      const persistedCursor = async () => {
        const row = await world.test.db.kysely
          .selectFrom('webhook_endpoints')
          .select('cursor_position')
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        return Number(row.cursor_position);
      };
      const deliverStarted = performance.now();
      const enabled = await world.api('PATCH', `/webhooks/${id}`, { body: { enabled: true } });
      assert.equal(enabled.status, 200, JSON.stringify(enabled.json));

      let peakHeap = baseline.heapUsed;
      let peakDeliveryHeap = deliveryBaseline;
      let peakRss = baseline.rss;
      let samples = 0;
      let sampledAt = 0;
      let gcMs = 0;
      let widestGap = 0;
      await until(
        async () => {
          // The receiver's count first: the cursor can only have moved on since. When
          // the k-th request went out, at most FLUSH_EVERY - 1 deliveries before it were
          // unwritten, so the cursor has passed the (k - FLUSH_EVERY)-th.
          const arrived = sink.arrivals.length;
          const cursor = await persistedCursor();
          const written = positions.findLastIndex((position) => position <= cursor) + 1;
          widestGap = Math.max(widestGap, arrived - written);
          assert.ok(
            written >= arrived - FLUSH_EVERY,
            `${arrived} arrived but the cursor is at the ${written}th: the dispatcher held more than a flush`,
          );
          // A full collection pauses this thread (the API and the sink): now and then.
          if (performance.now() - sampledAt >= SAMPLE_EVERY_MS) {
            const collecting = performance.now();
            gc();
            gcMs += performance.now() - collecting;
            const usage = process.memoryUsage();
            peakHeap = Math.max(peakHeap, usage.heapUsed);
            peakDeliveryHeap = Math.max(peakDeliveryHeap, await deliveryHeap());
            peakRss = Math.max(peakRss, usage.rss);
            samples += 1;
            sampledAt = performance.now();
          }
          // Not firstArrivals(): de-duplicating 10,000 at every poll slows the dispatcher.
          return sink.arrivals.length >= EVENTS;
        },
        `${EVENTS} deliveries`,
        // Each poll reads one row, then waits 10 ms: five minutes at least, as a safety net.
        30_000,
      );
      const deliverSeconds = (performance.now() - deliverStarted) / 1000;
      await until(() => sink.firstArrivals().length >= EVENTS, 'no delivery missing');

      const first = sink.firstArrivals();
      assert.equal(first.length, EVENTS);
      assert.ok(
        first.every((arrival, index) => arrival.position === positions[index]),
        'every event, in position order',
      );
      assert.equal(sink.arrivals.length, EVENTS, 'nothing sent twice');
      assert.deepEqual(sink.badSignatures, [], 'every signature verifies');
      await until(async () => (await countLogged()) === EVENTS, 'every delivery logged');

      const heapGrowth = mb(peakHeap - baseline.heapUsed);
      const deliveryHeapGrowth = mb(peakDeliveryHeap - deliveryBaseline);
      const rssGrowth = mb(peakRss - baseline.rss);
      t.diagnostic(
        `${engine}: appended ${EVENTS} in ${appendSeconds.toFixed(1)} s, delivered in ${deliverSeconds.toFixed(1)} s ` +
          `(${Math.round(EVENTS / deliverSeconds)}/s); heap after GC ${mb(baseline.heapUsed)} MB + ${heapGrowth} MB at most, ` +
          `delivery thread's ${mb(deliveryBaseline)} MB + ${deliveryHeapGrowth} MB ` +
          `(${samples} samples, collections took ${(gcMs / 1000).toFixed(1)} s), RSS ${mb(baseline.rss)} MB + ${rssGrowth} MB; cursor at most ${widestGap} deliveries behind the receiver`,
      );
      assert.ok(heapGrowth < MAX_HEAP_GROWTH_MB, `the collected heap grew by ${heapGrowth} MB`);
      assert.ok(
        deliveryHeapGrowth < MAX_HEAP_GROWTH_MB,
        `the delivery thread's collected heap grew by ${deliveryHeapGrowth} MB`,
      );
      assert.ok(rssGrowth < MAX_RSS_GROWTH_MB, `RSS grew by ${rssGrowth} MB`);
    });
  });
}
