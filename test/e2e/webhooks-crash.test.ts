import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  ADMIN_ENV,
  adminAuthorization,
  CHILD_DEADLINE_MS,
  type ServerProcess,
  spawnServer,
  tempDir,
} from '../helpers/cli.ts';
import { testEngines, testStorageConfig } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';
import { startWebhookSink } from '../helpers/webhook-sink.ts';

/**
 * Issue 21, "never lost": `tessera serve` is killed with SIGKILL while it works through
 * a backlog for an endpoint whose receiver holds every answer a while (so a request is
 * in flight at the kill). Restarted on the same database, it delivers everything: the
 * webhook-ids in first-arrival order cover every event in position order, and the
 * re-sends (at least once) are few and repeat only what had been sent.
 */

const EVENTS = 300;
/** Per request: three appends make the backlog. */
const PER_REQUEST = 100;
/** The receiver holds each answer this long. */
const HOLD_MS = 50;
/** Kill once this many requests arrived: well inside the backlog. */
const KILL_AFTER = 100;
/**
 * What a crash may re-send: the deliveries not yet written (the dispatcher writes its
 * attempts and cursor every 50 deliveries or 250 ms) and the one in flight.
 */
const MAX_RESENDS = 51;

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

async function call(
  server: ServerProcess,
  authorization: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${server.baseUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(CHILD_DEADLINE_MS),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** One deployment across restarts; no server outlives the test, the database is dropped. */
async function deployment(t: TestContext, engine: string) {
  const env: Record<string, string> = {
    ...ADMIN_ENV,
    TESSERA_DATA_DIR: tempDir(),
    TESSERA_WEBHOOKS_ALLOW_INSECURE_URLS: 'true',
    TESSERA_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    TESSERA_WEBHOOKS_BUSY_CPU_SHARE: '1',
    TESSERA_WEBHOOKS_POLL_INTERVAL_MS: '50',
    // The dead server's lease runs out a second after its last renewal.
    TESSERA_WEBHOOKS_LEASE_MS: '1000',
    TESSERA_WEBHOOKS_TIMEOUT_MS: '900',
    TESSERA_RATE_LIMITS_ENABLED: 'false',
  };
  const servers: ServerProcess[] = [];
  let dropDatabase = async () => {};
  if (engine === 'postgres') {
    const database = await testStorageConfig('postgres');
    env.TESSERA_DATABASE_URL = database.storage.database_url as string;
    dropDatabase = () => database.cleanup();
  }
  t.after(async () => {
    for (const server of servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
      }
      await server.exited;
    }
    await dropDatabase();
  });
  return {
    async start() {
      const server = await spawnServer(env);
      servers.push(server);
      return { server, authorization: await adminAuthorization(server.baseUrl) };
    },
  };
}

/** Every delivery the endpoint's log holds, paging newest first to the end. */
async function deliveryLog(server: ServerProcess, authorization: string, id: string) {
  const all: Json[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query: string = after === null ? '' : `&after=${after}`;
    const reply = await call(
      server,
      authorization,
      'GET',
      `/webhooks/${id}/deliveries?limit=100${query}`,
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    all.push(...reply.json.deliveries);
    after = reply.json.next_cursor;
    if (after === null) return all;
  }
  throw new Error('the delivery log did not end within 100 pages');
}

for (const engine of testEngines()) {
  describe(`webhook delivery across a SIGKILL (${engine})`, () => {
    it(`delivers all of a ${EVENTS}-event backlog after a restart, re-sending only a few`, {
      timeout: 4 * CHILD_DEADLINE_MS,
    }, async (t) => {
      const sink = await startWebhookSink({ delayMs: HOLD_MS });
      t.after(() => sink.close());
      const store = await deployment(t, engine);
      const first = await store.start();
      const made = await call(first.server, first.authorization, 'POST', '/webhooks', {
        url: sink.url,
        event_types: ['*'],
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      sink.verifyWith(made.json.secret);
      const positions: number[] = [];
      for (let request = 0; request < EVENTS / PER_REQUEST; request++) {
        const appended = await call(
          first.server,
          first.authorization,
          'POST',
          `/entities/backlog-${request}/events`,
          {
            events: Array.from({ length: PER_REQUEST }, (_, n) => ({
              event_type: 'backlog.item',
              payload: { request, n },
            })),
          },
        );
        assert.equal(appended.status, 201, JSON.stringify(appended.json));
        positions.push(
          ...appended.json.events.map((event: { position: number }) => event.position),
        );
      }

      await until(() => sink.arrivals.length >= KILL_AFTER, `${KILL_AFTER} requests arrived`);
      first.server.child.kill('SIGKILL');
      assert.equal(await first.server.exited, 'SIGKILL', first.server.output().slice(-4000));
      const beforeKill = new Set(sink.arrivals.map((arrival) => arrival.id));
      const arrivedBeforeKill = sink.arrivals.length;
      t.diagnostic(`${arrivedBeforeKill} of ${EVENTS} had arrived at the kill`);
      assert.ok(arrivedBeforeKill < EVENTS, 'killed mid-backlog');

      const second = await store.start();
      await until(
        () => sink.firstArrivals().length >= EVENTS,
        'every event delivered after the restart',
      );
      // First arrivals, de-duplicated by webhook-id: every event, in position order.
      assert.deepEqual(
        sink.firstArrivals().map((arrival) => arrival.position),
        positions,
      );
      assert.deepEqual(sink.badSignatures, [], 'every request signed with the endpoint secret');
      const resent = sink.arrivals
        .slice(arrivedBeforeKill)
        .filter((arrival) => beforeKill.has(arrival.id));
      const repeats = [...sink.countsById()].filter(([, count]) => count > 1);
      t.diagnostic(`${resent.length} re-sent after the restart`);
      // Duplicates are re-sends of what the dead server had sent, each once, and few.
      assert.equal(sink.arrivals.length, EVENTS + resent.length, 'nothing else repeated');
      for (const [id, count] of repeats) {
        assert.ok(beforeKill.has(id), `${id} repeated but was not sent before the kill`);
        assert.equal(count, 2, `${id} sent ${count} times`);
      }
      assert.ok(resent.length <= MAX_RESENDS, `${resent.length} re-sends`);
      // They come first after the restart, in order, then the rest follows on.
      const afterRestart = sink.arrivals
        .slice(arrivedBeforeKill)
        .map((arrival) => arrival.position);
      assert.deepEqual(
        afterRestart,
        [...afterRestart].sort((a, b) => (a as number) - (b as number)),
      );

      // The delivery log has a delivered attempt for every event (the dead server's
      // unwritten ones were logged by the re-send).
      await until(async () => {
        const log = await deliveryLog(second.server, second.authorization, made.json.id);
        const delivered = new Set(
          log.filter((entry) => entry.outcome === 'delivered').map((entry) => entry.message_id),
        );
        return delivered.size === EVENTS;
      }, 'every event logged delivered');
      const log = await deliveryLog(second.server, second.authorization, made.json.id);
      assert.deepEqual(
        new Set(log.map((entry) => entry.message_id)),
        new Set(sink.arrivals.map((arrival) => arrival.id)),
        'the log names exactly the webhook-ids the receiver saw',
      );
      const endpoint = await call(
        second.server,
        second.authorization,
        'GET',
        `/webhooks/${made.json.id}`,
      );
      assert.equal(endpoint.json.failing, null);
    });
  });
}
