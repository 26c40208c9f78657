import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { TesseraApp } from '../../src/app.ts';
import { composeServices } from '../../src/composition-root.ts';
import { type Database, openDatabase } from '../../src/storage/open-database.ts';
import { apiKeyFor } from '../helpers/auth.ts';
import { CHILD_DEADLINE_MS, type ServerProcess, spawnServer } from '../helpers/cli.ts';
import { skipWithoutPostgres } from '../helpers/postgres-events-fixture.ts';
import { until } from '../helpers/until.ts';
import { TEST_WEBHOOKS } from '../helpers/webhook-fixture.ts';
import { type WebhookNode, webhookCluster } from '../helpers/webhook-nodes.ts';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.ts';

/**
 * Issue 21, "never lost" across nodes: on PostgreSQL exactly one node delivers a given
 * endpoint at a time (a lease in `webhook_endpoints`), and another takes over when it
 * leaves: at once when it shuts down (it gives its leases back), once the lease runs
 * out when it dies (SIGKILL). Receivers are real HTTP servers on 127.0.0.1; every
 * request's signature is checked with the standardwebhooks package.
 */

const LEASE_MS = 1500;
const ENDPOINTS = 6;
/** Appending clients per node, and requests per client (1 to 4 events each). */
const CLIENTS = 4;
const REQUESTS = 8;
/**
 * A node re-sends at most its unflushed deliveries when it dies: the dispatcher writes
 * its attempts and cursor every 50 deliveries (FLUSH_EVERY), plus the one in flight.
 */
const MAX_RESENDS = 51;
const WEBHOOKS = { ...TEST_WEBHOOKS, lease_ms: LEASE_MS, poll_interval_ms: 50, timeout_ms: 1000 };
const CONFIG = { webhooks: WEBHOOKS, rate_limits: { enabled: false } };
/** The same settings for a `tessera serve` child. */
const SERVER_ENV = {
  TESSERA_WEBHOOKS_LEASE_MS: String(LEASE_MS),
  TESSERA_WEBHOOKS_POLL_INTERVAL_MS: '50',
  TESSERA_WEBHOOKS_TIMEOUT_MS: '1000',
  TESSERA_WEBHOOKS_ALLOW_INSECURE_URLS: 'true',
  TESSERA_WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  TESSERA_WEBHOOKS_BUSY_CPU_SHARE: '1',
  TESSERA_RATE_LIMITS_ENABLED: 'false',
};

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;
/** A JSON request to one node's /api/v1 with the tenant's API key. */
type Api = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; json: Json }>;

function injectApi(app: TesseraApp, key: string): Api {
  return async (method, path, body) => {
    const reply = await app.inject({
      method: method as 'GET',
      url: `/api/v1${path}`,
      headers: { 'x-api-key': key },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: reply.statusCode, json: reply.body ? reply.json() : undefined };
  };
}

function httpApi(baseUrl: string, key: string): Api {
  return async (method, path, body) => {
    const response = await fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: {
        'x-api-key': key,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(CHILD_DEADLINE_MS),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
}

/** An endpoint receiving every event of the tenant, its sink checking signatures. */
async function addEndpoints(
  t: TestContext,
  apis: readonly Api[],
  options: { delayMs?: number } = {},
): Promise<{ id: string; sink: WebhookSink }[]> {
  const made: { id: string; sink: WebhookSink }[] = [];
  for (let index = 0; index < ENDPOINTS; index++) {
    const sink = await startWebhookSink(options);
    t.after(() => sink.close());
    // Created through each node in turn: each node's dispatcher is woken by its own.
    const api = apis[index % apis.length] as Api;
    const reply = await api('POST', '/webhooks', { url: sink.url, event_types: ['*'] });
    assert.equal(reply.status, 201, JSON.stringify(reply.json));
    sink.verifyWith(reply.json.secret);
    made.push({ id: reply.json.id, sink });
  }
  return made;
}

/**
 * CLIENTS concurrent clients per node, each appending REQUESTS times 1 to 4 events
 * (to its own entity, or one shared by all); answers every position acknowledged.
 */
async function appendConcurrently(apis: readonly Api[], tag: string): Promise<number[]> {
  const positions: number[] = [];
  const client = async (api: Api, node: number, index: number) => {
    for (let request = 0; request < REQUESTS; request++) {
      const entity = request % 3 === 0 ? `shared-${tag}` : `e-${tag}-${node}-${index}`;
      const size = 1 + ((index + request) % 4);
      const reply = await api('POST', `/entities/${entity}/events`, {
        events: Array.from({ length: size }, (_, n) => ({
          event_type: `thing.${tag}`,
          payload: { node, index, request, n },
        })),
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.json));
      for (const event of reply.json.events) positions.push(event.position);
    }
  };
  await Promise.all(
    apis.flatMap((api, node) =>
      Array.from({ length: CLIENTS }, (_, index) => client(api, node, index)),
    ),
  );
  return positions.sort((a, b) => a - b);
}

interface LeaseRow {
  readonly id: string;
  readonly lease_owner: string | null;
  readonly lease_until_ms: number | null;
  readonly cursor_position: number;
}

async function leases(db: Database): Promise<LeaseRow[]> {
  const rows = await db.kysely
    .selectFrom('webhook_endpoints')
    .select(['id', 'lease_owner', 'lease_until_ms', 'cursor_position'])
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    lease_owner: row.lease_owner,
    lease_until_ms: row.lease_until_ms === null ? null : Number(row.lease_until_ms),
    cursor_position: Number(row.cursor_position),
  }));
}

/** Delivered attempts in the log, per endpoint and message (`webhook-id`). */
async function deliveredAttempts(db: Database) {
  const rows = await db.kysely
    .selectFrom('webhook_attempts')
    .select(['endpoint_id', 'message_id'])
    .where('outcome', '=', 'delivered')
    .execute();
  const byEndpoint = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const counts = byEndpoint.get(row.endpoint_id) ?? new Map<string, number>();
    counts.set(row.message_id, (counts.get(row.message_id) ?? 0) + 1);
    byEndpoint.set(row.endpoint_id, counts);
  }
  return byEndpoint;
}

/**
 * Watches the lease rows and the nodes' own views while `work` runs: which owners each
 * endpoint's row named, every moment an endpoint was held in the memory of two
 * nodes at once, and what each node ever held. Bounded by the work's end (a safety net: 100,000 looks).
 */
async function watchingLeases<T>(
  db: Database,
  held: readonly (() => string[])[],
  work: Promise<T>,
): Promise<{
  result: T;
  owners: Map<string, Set<string>>;
  doublyHeld: string[];
  everHeld: Set<string>[];
}> {
  const owners = new Map<string, Set<string>>();
  const doublyHeld: string[] = [];
  const everHeld = held.map(() => new Set<string>());
  let done = false;
  const watcher = (async () => {
    for (let look = 0; !done && look < 100_000; look++) {
      for (const row of await leases(db)) {
        if (row.lease_owner === null) continue;
        const seen = owners.get(row.id) ?? new Set<string>();
        seen.add(row.lease_owner);
        owners.set(row.id, seen);
      }
      const views = held.map((heldBy) => new Set(heldBy()));
      for (const [index, view] of views.entries()) {
        for (const id of view) {
          everHeld[index]?.add(id);
          if (views.some((other, at) => at !== index && other.has(id))) doublyHeld.push(id);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    const result = await work;
    return { result, owners, doublyHeld, everHeld };
  } finally {
    done = true;
    await watcher;
  }
}

/** Every endpoint's sink has, de-duplicated and in first-arrival order, exactly `positions`. */
function assertAllInOrder(endpoints: readonly { sink: WebhookSink }[], positions: number[]) {
  for (const [index, { sink }] of endpoints.entries()) {
    assert.deepEqual(
      sink.firstArrivals().map((arrival) => arrival.position),
      positions,
      `endpoint ${index}: every event once, in position order`,
    );
    assert.deepEqual(sink.badSignatures, [], `endpoint ${index}: every signature verifies`);
  }
}

const deliveredAll = (endpoints: readonly { sink: WebhookSink }[], count: number) => () =>
  endpoints.every(({ sink }) => sink.firstArrivals().length >= count);

describe('webhooks on two nodes sharing PostgreSQL', { skip: skipWithoutPostgres }, () => {
  it('delivers each event to each endpoint exactly once, one node per endpoint; a node shutting down hands its endpoints over at once', async (t) => {
    const cluster = await webhookCluster(t, 'postgres', CONFIG);
    const first = await cluster.start();
    const second = await cluster.start();
    const nodes = [first, second];
    const key = await apiKeyFor(first.services, 'acme');
    const apis = nodes.map((node) => injectApi(node.app, key));
    const endpoints = await addEndpoints(t, apis, { delayMs: 5 });
    const held = nodes.map((node) => node.held);
    await until(
      async () => (await leases(first.db)).every((row) => row.lease_owner !== null),
      'every endpoint claimed',
    );

    // Both nodes live: appends race through both, both dispatchers run.
    const {
      result: positions,
      owners,
      doublyHeld,
    } = await watchingLeases(
      first.db,
      held,
      (async () => {
        const appended = await appendConcurrently(apis, 'live');
        await until(deliveredAll(endpoints, appended.length), 'every event at every endpoint');
        return appended;
      })(),
    );
    assert.equal(positions.length, CLIENTS * REQUESTS * 2 * 2.5);
    assert.deepEqual(doublyHeld, [], 'no endpoint held by both nodes at once');
    assertAllInOrder(endpoints, positions);
    for (const [index, { id, sink }] of endpoints.entries()) {
      // Exactly once: no request carried a webhook-id another had carried.
      assert.equal(sink.arrivals.length, positions.length, `endpoint ${index}: no re-send`);
      assert.ok(
        [...sink.countsById().values()].every((count) => count === 1),
        `endpoint ${index}: each webhook-id received once`,
      );
      assert.equal(owners.get(id)?.size, 1, `endpoint ${index} kept one owner`);
    }
    const distribution = held.map((heldBy) => heldBy().length);
    t.diagnostic(`endpoints held per node: ${distribution.join(', ')}`);
    assert.equal(
      distribution.reduce((a, b) => a + b, 0),
      ENDPOINTS,
    );
    // The delivery log agrees: one delivered attempt per message and endpoint.
    await until(async () => {
      const log = await deliveredAttempts(first.db);
      return endpoints.every(({ id }) => log.get(id)?.size === positions.length);
    }, 'the attempts logged');
    const log = await deliveredAttempts(first.db);
    for (const [index, { id, sink }] of endpoints.entries()) {
      const counts = log.get(id) as Map<string, number>;
      assert.ok(
        [...counts.values()].every((count) => count === 1),
        `endpoint ${index}: no message logged delivered twice`,
      );
      assert.deepEqual([...counts.keys()].sort(), [...sink.countsById().keys()].sort());
    }

    // The node holding more endpoints shuts down (app.close) while delivering a
    // backlog: it finishes the request in flight, writes where it stands and gives its
    // leases back, so the other takes over without waiting and re-sends nothing.
    const [victim, survivor]: [WebhookNode, WebhookNode] =
      (distribution[0] as number) >= (distribution[1] as number)
        ? [first, second]
        : [second, first];
    const victimHeld = victim.held();
    const backlog = await appendConcurrently([injectApi(survivor.app, key)], 'backlog');
    const victimSinks = endpoints.filter(({ id }) => victimHeld.includes(id));
    await until(
      () => victimSinks.some(({ sink }) => sink.arrivals.length >= positions.length + 10),
      'the closing node delivering the backlog',
    );
    const before = new Map((await leases(survivor.db)).map((row) => [row.id, row]));
    const victimOwner = before.get(victimHeld[0] as string)?.lease_owner;
    const closingAt = Date.now();
    await victim.app.close();
    const reached = victimSinks.map(({ sink }) => sink.arrivals.length - positions.length);
    t.diagnostic(`closed with the backlog of ${backlog.length} delivered to ${reached.join(', ')}`);
    assert.ok(
      reached.some((count) => count < backlog.length),
      'closed mid-delivery',
    );
    for (const row of await leases(survivor.db)) {
      assert.notEqual(row.lease_owner, victimOwner, `${row.id}: the closed node let go`);
    }
    await until(() => survivor.held().length === ENDPOINTS, 'the survivor holds every endpoint');
    const takeoverMs = Date.now() - closingAt;
    // Leases that ran out would have taken until the last renewal's expiry.
    const expiry = Math.min(
      ...victimHeld.map((id) => before.get(id)?.lease_until_ms ?? Number.POSITIVE_INFINITY),
    );
    t.diagnostic(
      `${victimHeld.length} endpoints taken over ${takeoverMs} ms after close began; ` +
        `their leases would have run out after ${expiry - closingAt} ms`,
    );
    const after = await appendConcurrently([injectApi(survivor.app, key)], 'after');
    const everything = [...positions, ...backlog, ...after];
    await until(deliveredAll(endpoints, everything.length), 'the later events everywhere');
    assertAllInOrder(endpoints, everything);
    for (const [index, { sink }] of endpoints.entries()) {
      // A graceful hand-over wrote every delivery it made: nothing is sent twice.
      assert.equal(sink.arrivals.length, everything.length, `endpoint ${index}: no re-send`);
    }
  });

  it('takes over the endpoints of a node killed with SIGKILL once its leases run out: nothing lost', {
    timeout: 3 * CHILD_DEADLINE_MS,
  }, async (t) => {
    const cluster = await webhookCluster(t, 'postgres', CONFIG);
    // Node 1: a real `tessera serve`, the only node while the endpoints are created, so
    // it claims them all.
    const server: ServerProcess = await spawnServer({
      ...SERVER_ENV,
      TESSERA_DATA_DIR: cluster.storage.data_dir,
      TESSERA_DATABASE_URL: cluster.storage.database_url as string,
    });
    cluster.defer(async () => {
      if (server.child.exitCode === null && server.child.signalCode === null)
        server.child.kill('SIGKILL');
      await server.exited;
    });
    // Node 2: in this process, on the same database and data dir (so the same master
    // key opens the endpoints' signing secrets); started once the server holds them all.
    const db = await openDatabase(cluster.config.storage);
    const services = composeServices(db, cluster.config, process.env);
    const key = await apiKeyFor(services, 'acme');
    const viaServer = httpApi(server.baseUrl, key);
    const endpoints = await addEndpoints(t, [viaServer], { delayMs: 5 });
    await until(
      async () => (await leases(db)).every((row) => row.lease_owner !== null),
      'the server claims every endpoint',
    );
    const serverOwner = (await leases(db))[0]?.lease_owner;
    const local = await cluster.start({ db, services });
    const viaLocal = injectApi(local.app, key);
    const localHeld = local.held;

    // Both live: the server keeps every endpoint, whichever node the events came through.
    const {
      result: positions,
      owners,
      everHeld,
    } = await watchingLeases(
      db,
      [localHeld],
      (async () => {
        const appended = await appendConcurrently([viaServer, viaLocal], 'live');
        await until(deliveredAll(endpoints, appended.length), 'every event at every endpoint');
        return appended;
      })(),
    );
    assertAllInOrder(endpoints, positions);
    for (const [index, { id, sink }] of endpoints.entries()) {
      assert.equal(sink.arrivals.length, positions.length, `endpoint ${index}: no re-send`);
      assert.deepEqual([...(owners.get(id) ?? [])], [serverOwner], `endpoint ${index}: one owner`);
    }
    assert.deepEqual([...(everHeld[0] ?? [])], [], 'the second node never held an endpoint');

    // A backlog the server is delivering when it dies.
    const backlog = await appendConcurrently([viaLocal], 'backlog');
    await until(
      () => endpoints.some(({ sink }) => sink.firstArrivals().length >= positions.length + 10),
      'the server delivering the backlog',
    );
    server.child.kill('SIGKILL');
    assert.equal(await server.exited, 'SIGKILL', server.output().slice(-4000));
    const killedAt = Date.now();
    const dead = await leases(db);
    const reached = endpoints.map(({ sink }) => sink.firstArrivals().length - positions.length);
    t.diagnostic(
      `backlog of ${backlog.length} delivered per endpoint at the kill: ${reached.join(', ')}`,
    );
    assert.ok(
      reached.some((count) => count < backlog.length),
      'killed mid-delivery',
    );
    for (const row of dead) assert.equal(row.lease_owner, serverOwner);

    // Record when the survivor first holds each endpoint, while events keep coming.
    const firstHeldAt = new Map<string, number>();
    const appendedLater = appendConcurrently([viaLocal], 'later');
    for (let look = 0; firstHeldAt.size < ENDPOINTS && look < 100_000; look++) {
      for (const id of localHeld()) if (!firstHeldAt.has(id)) firstHeldAt.set(id, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(firstHeldAt.size, ENDPOINTS, 'the survivor holds every endpoint');
    for (const row of dead) {
      const heldAt = firstHeldAt.get(row.id) as number;
      // Never before the dead node's lease ran out: one deliverer per endpoint, always.
      assert.ok(
        heldAt >= (row.lease_until_ms as number),
        `${row.id} taken ${(row.lease_until_ms as number) - heldAt} ms before its lease ran out`,
      );
    }
    const waits = dead.map((row) => (firstHeldAt.get(row.id) as number) - killedAt);
    t.diagnostic(`taken over ${Math.min(...waits)}–${Math.max(...waits)} ms after the kill`);

    const later = await appendedLater;
    const everything = [...positions, ...backlog, ...later];
    await until(deliveredAll(endpoints, everything.length), 'everything after the takeover');
    assertAllInOrder(endpoints, everything);
    const resends: number[] = [];
    for (const [index, { sink }] of endpoints.entries()) {
      // Re-sends (at least once) repeat only what the dead node had sent, and few.
      const firstAt = new Map<string, number>();
      for (const arrival of sink.arrivals)
        if (!firstAt.has(arrival.id)) firstAt.set(arrival.id, arrival.atMs);
      const repeats = [...sink.countsById()].filter(([, count]) => count > 1);
      for (const [id, count] of repeats) {
        assert.equal(count, 2, `endpoint ${index}: ${id} re-sent once at most`);
        assert.ok(
          (firstAt.get(id) as number) <= killedAt,
          `endpoint ${index}: ${id} was sent before the kill`,
        );
      }
      assert.ok(repeats.length <= MAX_RESENDS, `endpoint ${index}: ${repeats.length} re-sends`);
      resends.push(repeats.length);
    }
    t.diagnostic(`re-sent after the takeover per endpoint: ${resends.join(', ')}`);
    const final = await leases(db);
    assert.ok(final.every((row) => row.lease_owner !== serverOwner && row.lease_owner !== null));
    assert.equal(
      new Set(final.map((row) => row.lease_owner)).size,
      1,
      'one survivor owns them all',
    );
  });
});
