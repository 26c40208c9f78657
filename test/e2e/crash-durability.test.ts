import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

/**
 * Principle 1 under the harshest failure a process can meet: SIGKILL while appends
 * are in flight. Whatever was acknowledged must come back unchanged after a restart,
 * whatever was not must be all-or-nothing, and retrying it with the same ids must
 * neither fail nor duplicate.
 */

const API = '/api/v1';
const CLIENTS = 24;
/** Clients whose index mod 8 is this own an entity each and use numeric expected_version. */
const CHAIN_ROLE = 0;
const INGEST_ROLE = 1;
const SHARED_ENTITIES = 40;
/** Bounds every client loop even if the kill never came. */
const MAX_REQUESTS_PER_CLIENT = 5_000;
/**
 * Kill after this many acknowledged events, or after KILL_AFTER_MS once at least one
 * was acknowledged, whichever is first: a slow machine gets the time it needs.
 */
const KILL_AFTER_EVENTS = 20_000;
const KILL_AFTER_MS = 1_500;
const BIG_BATCH = 5_000;
/** Load-and-kill rounds until one kill finds requests in flight. */
const KILL_ROUNDS = 4;
/** Kills during big batches, each followed by a restart. */
const BIG_BATCH_ROUNDS = 4;
/** A safety net against a hung request, not a speed limit: a loaded machine is slow. */
const REQUEST_TIMEOUT_MS = CHILD_DEADLINE_MS;
/**
 * Each test restarts the server up to five times and reads the whole log back after
 * each: on a loaded 2-core machine that took over the former 60 s for the suite. A
 * safety net against a hang; every wait inside ends when its condition holds.
 */
const TEST_DEADLINE_MS = 5 * CHILD_DEADLINE_MS;

interface Expected {
  readonly id: string;
  readonly entity_id: string;
  readonly event_type: string;
  readonly payload: unknown;
  readonly metadata?: Record<string, unknown>;
}

/** One append request, kept so it can be checked and sent again with the same ids. */
interface Attempt {
  readonly path: string;
  readonly body: unknown;
  readonly events: readonly Expected[];
  /** The entity's version the request expected (chains only). */
  readonly expectedVersion?: number | 'no_stream';
}

interface Ack {
  readonly id: string;
  readonly version: number;
  readonly position: number;
}

interface Acked {
  readonly attempt: Attempt;
  readonly acks: readonly Ack[];
}

interface StoredEvent extends Expected {
  readonly version: number;
  readonly position: number;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** The platform administrator's token of the server running now (set by `start`). */
let authorization = '';

async function send(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${API}${path}`, {
    method,
    headers: {
      authorization,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined } as Reply;
}

async function getJson<T>(baseUrl: string, path: string): Promise<T> {
  const reply = await send(baseUrl, 'GET', path);
  assert.equal(reply.status, 200, `GET ${path}: ${JSON.stringify(reply.body)}`);
  return reply.body as T;
}

/** The acks of a 200/201 append reply, in request order, whichever route answered. */
function acksOf(reply: Reply): Ack[] {
  const body = reply.body as { events: Ack[] };
  return body.events.map(({ id, version, position }) => ({ id, version, position }));
}

function newEvent(entity_id: string, tag: string, n: number): Expected {
  // Varied sizes and occasional metadata so a torn or mixed-up row cannot compare equal.
  const payload = { tag, n, pad: 'x'.repeat((n * 7) % 96) };
  const event = { id: randomUUID(), entity_id, event_type: `e2e.kind-${n % 3}`, payload };
  return n % 5 === 0 ? { ...event, metadata: { correlation_id: tag } } : event;
}

function entityAppend(
  entityId: string,
  events: readonly Expected[],
  expectedVersion?: number | 'no_stream',
): Attempt {
  const wire = events.map(({ id, event_type, payload, metadata }) => ({
    id,
    event_type,
    payload,
    metadata,
  }));
  const body =
    expectedVersion === undefined
      ? { events: wire }
      : { events: wire, expected_version: expectedVersion };
  return { path: `/entities/${entityId}/events`, body, events, expectedVersion };
}

function ingest(events: readonly Expected[]): Attempt {
  return { path: '/events', body: { events }, events };
}

/** Seeded, so a failing run's entity choices and batch sizes can be replayed (timing varies). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Load {
  readonly acked: Acked[];
  /** Requests that got no reply: sent (maybe only partly) when the process died. */
  readonly inDoubt: Attempt[];
  /** Anything a healthy server should never answer before the kill. */
  readonly unexpected: string[];
  ackedEvents: number;
  killed: boolean;
}

/** One client: loops appends of its role until the server dies under it. */
async function runClient(
  baseUrl: string,
  round: number,
  index: number,
  load: Load,
  random: () => number,
) {
  const role = index % 8;
  // Per round, so a chain starts at no_stream again after a restart.
  const chainEntity = `chain-${round}-${index}`;
  let chainVersion: number | 'no_stream' = 'no_stream';
  for (let request = 0; request < MAX_REQUESTS_PER_CLIENT && !load.killed; request++) {
    const tag = `k${round}-c${index}-r${request}`;
    const size = request % 8 === 7 ? 10 + Math.floor(random() * 41) : 1;
    const shared = () => `order-${Math.floor(random() * SHARED_ENTITIES)}`;
    let attempt: Attempt;
    if (role === CHAIN_ROLE) {
      const events = Array.from({ length: 1 + (request % 3) }, (_, n) =>
        newEvent(chainEntity, tag, n),
      );
      attempt = entityAppend(chainEntity, events, chainVersion);
    } else if (role === INGEST_ROLE) {
      // Atomic across entities: a torn ingest would show as some of its entities only.
      attempt = ingest(Array.from({ length: size }, (_, n) => newEvent(shared(), tag, n)));
    } else {
      const entity = shared();
      attempt = entityAppend(
        entity,
        Array.from({ length: size }, (_, n) => newEvent(entity, tag, n)),
      );
    }
    let reply: Reply;
    try {
      reply = await send(baseUrl, 'POST', attempt.path, attempt.body);
    } catch (error) {
      if (load.killed) load.inDoubt.push(attempt);
      else load.unexpected.push(`${tag}: ${String(error)}`);
      return;
    }
    if (reply.status !== 201) {
      load.unexpected.push(`${tag}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return;
    }
    const acks = acksOf(reply);
    load.acked.push({ attempt, acks });
    load.ackedEvents += acks.length;
    if (role === CHAIN_ROLE) chainVersion = (acks.at(-1) as Ack).version;
  }
}

/** Every event of the tenant, in position order, by paging the log with `after`. */
async function readLog(baseUrl: string): Promise<StoredEvent[]> {
  const log: StoredEvent[] = [];
  let after = 0;
  for (let page = 0; page < 1_000; page++) {
    const body = await getJson<{ events: StoredEvent[]; next_cursor: number | null }>(
      baseUrl,
      `/events/query?after=${after}&limit=10000`,
    );
    log.push(...body.events);
    if (body.next_cursor === null) return log;
    after = body.next_cursor;
  }
  throw new Error('the log did not end within 1,000 pages');
}

function assertSameEvent(stored: StoredEvent | undefined, expected: Expected, ack?: Ack) {
  assert.ok(stored, `event ${expected.id} is missing`);
  assert.equal(stored.entity_id, expected.entity_id, `entity of ${expected.id}`);
  assert.equal(stored.event_type, expected.event_type, `type of ${expected.id}`);
  assert.deepEqual(stored.payload, expected.payload, `payload of ${expected.id}`);
  assert.deepEqual(stored.metadata, expected.metadata ?? {}, `metadata of ${expected.id}`);
  if (ack) {
    assert.equal(stored.version, ack.version, `version of ${expected.id}`);
    assert.equal(stored.position, ack.position, `position of ${expected.id}`);
  }
}

/**
 * Reads everything back and checks the store's shape: increasing unique positions,
 * unique ids, gapless versions per entity (also through the entity route), the
 * stats totals, and every acknowledged event unchanged. Returns the log by id.
 */
async function verifyStore(baseUrl: string, acked: readonly Acked[]) {
  const log = await readLog(baseUrl);
  const byId = new Map<string, StoredEvent>();
  const entities = new Map<string, StoredEvent[]>();
  log.forEach((event, index) => {
    if (index > 0) {
      // Increasing, not gapless: positions are the deployment's, and the audit trail
      // (a partition of its own) takes some of them between the tenant's events.
      const previous = (log[index - 1] as StoredEvent).position;
      assert.ok(event.position > previous, `position ${event.position} after ${previous}`);
    }
    assert.ok(!byId.has(event.id), `event ${event.id} is stored twice`);
    byId.set(event.id, event);
    const stream = entities.get(event.entity_id) ?? [];
    stream.push(event);
    entities.set(event.entity_id, stream);
  });
  for (const [entityId, stream] of entities) {
    assert.deepEqual(
      stream.map((event) => event.version),
      stream.map((_, version) => version),
      `versions of ${entityId} in position order`,
    );
    const read = await getJson<{ events: StoredEvent[] }>(
      baseUrl,
      `/entities/${entityId}/events?limit=10000`,
    );
    assert.deepEqual(
      read.events.map((event) => event.id),
      stream.map((event) => event.id),
      `the entity route and the log agree on ${entityId}`,
    );
  }
  const stats = await getJson<{ events: number; entities: number }>(baseUrl, '/stats');
  assert.deepEqual(
    { events: stats.events, entities: stats.entities },
    { events: log.length, entities: entities.size },
    'the stats totals match the log',
  );
  for (const { attempt, acks } of acked) {
    attempt.events.forEach((expected, index) => {
      assertSameEvent(byId.get(expected.id), expected, acks[index]);
    });
  }
  return { log, byId };
}

/** An unacknowledged request is all there or not at all; returns whether it is there. */
function assertAllOrNothing(byId: ReadonlyMap<string, StoredEvent>, attempt: Attempt): boolean {
  const present = attempt.events.filter((event) => byId.has(event.id)).length;
  assert.ok(
    present === 0 || present === attempt.events.length,
    `torn append to ${attempt.path}: ${present} of ${attempt.events.length} events stored`,
  );
  if (present === 0) return false;
  for (const event of attempt.events) assertSameEvent(byId.get(event.id), event);
  return true;
}

/**
 * Sends an in-doubt request again with the same ids: 200 with the stored result if
 * it had committed, 201 if not. Either way it is acknowledged now.
 */
async function retry(baseUrl: string, attempt: Attempt, stored: boolean): Promise<Acked> {
  const reply = await send(baseUrl, 'POST', attempt.path, attempt.body);
  assert.equal(
    reply.status,
    stored ? 200 : 201,
    `retry of ${attempt.path}: ${JSON.stringify(reply.body)}`,
  );
  return { attempt, acks: acksOf(reply) };
}

/**
 * Runs CLIENTS concurrent clients against `server` and SIGKILLs it after
 * KILL_AFTER_EVENTS acknowledged events, or KILL_AFTER_MS once one was acknowledged.
 */
async function loadUntilKilled(
  server: ServerProcess,
  round: number,
  random: () => number,
): Promise<Load> {
  const load: Load = { acked: [], inDoubt: [], unexpected: [], ackedEvents: 0, killed: false };
  const clients = Array.from({ length: CLIENTS }, (_, index) =>
    runClient(server.baseUrl, round, index, load, random),
  );
  const startedAt = Date.now();
  const killNow = () =>
    load.ackedEvents >= KILL_AFTER_EVENTS ||
    (load.ackedEvents > 0 && Date.now() - startedAt >= KILL_AFTER_MS) ||
    Date.now() - startedAt >= CHILD_DEADLINE_MS;
  while (!killNow()) {
    if (load.unexpected.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The flag first: every request failing from here on is in doubt, not a bug.
  load.killed = true;
  await killHard(server);
  await Promise.all(clients);
  return load;
}

/** One deployment's storage across restarts, and the guarantee no server outlives the test. */
async function deployment(t: TestContext, engine: string) {
  const env: Record<string, string> = { TESSERA_DATA_DIR: tempDir(), ...ADMIN_ENV };
  const servers: ServerProcess[] = [];
  let dropDatabase = async () => {};
  if (engine === 'postgres') {
    const database = await testStorageConfig('postgres');
    env.TESSERA_DATABASE_URL = database.storage.database_url;
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
    async start(): Promise<ServerProcess> {
      const server = await spawnServer(env);
      servers.push(server);
      authorization = await adminAuthorization(server.baseUrl);
      return server;
    },
  };
}

async function killHard(server: ServerProcess): Promise<void> {
  server.child.kill('SIGKILL');
  // Anything else means the server had already died on its own: show why.
  assert.equal(await server.exited, 'SIGKILL', server.output().slice(-4_000));
}

for (const engine of testEngines()) {
  describe(`acknowledged appends survive SIGKILL (${engine})`, () => {
    it('keeps every acknowledged event of a concurrent load; in-flight ones are atomic and retryable', {
      timeout: TEST_DEADLINE_MS,
    }, async (t) => {
      const seed = Date.now();
      t.diagnostic(`seed ${seed}`);
      const random = seeded(seed);
      const store = await deployment(t, engine);
      const acked: Acked[] = [];
      let ackedEvents = 0;
      let load: Load | undefined;
      let server = await store.start();
      // A kill can land when every request has been answered and the replies sit
      // unread in the test's sockets (the client, not the server, is then the
      // bottleneck). Such a round still proves its acknowledged events survive;
      // the next round tries again for requests in flight.
      for (let round = 0; round < KILL_ROUNDS; round++) {
        if (round > 0) server = await store.start();
        load = await loadUntilKilled(server, round, random);
        assert.deepEqual(load.unexpected, [], server.output());
        t.diagnostic(
          `round ${round}: ${load.ackedEvents} events in ${load.acked.length} requests acknowledged; ${load.inDoubt.length} requests in flight at the kill`,
        );
        assert.ok(load.ackedEvents > 0, 'the load wrote something before the kill');
        acked.push(...load.acked);
        ackedEvents += load.ackedEvents;
        if (load.inDoubt.length > 0) break;
      }
      assert.ok(
        load && load.inDoubt.length > 0,
        `requests were in flight at one of ${KILL_ROUNDS} kills`,
      );
      const inDoubt = load.inDoubt;

      const second = await store.start();
      const { log, byId } = await verifyStore(second.baseUrl, acked);
      const known = new Set(acked.flatMap(({ attempt }) => attempt.events.map((e) => e.id)));
      for (const attempt of inDoubt) for (const event of attempt.events) known.add(event.id);
      for (const event of log) assert.ok(known.has(event.id), `event ${event.id} was never sent`);
      const stored = inDoubt.map((attempt) => assertAllOrNothing(byId, attempt));
      t.diagnostic(
        `after restart: ${log.length} events; ${stored.filter(Boolean).length} of ${inDoubt.length} in-flight requests had committed`,
      );

      // Retried together, so the retries also share group commits.
      const retried = await Promise.all(
        inDoubt.map((attempt, index) => retry(second.baseUrl, attempt, stored[index] === true)),
      );
      // Acknowledged requests retried after the restart answer with their original result.
      const replayed = await Promise.all(
        acked.slice(0, 20).map(({ attempt }) => retry(second.baseUrl, attempt, true)),
      );
      acked.slice(0, 20).forEach(({ acks }, index) => {
        assert.deepEqual(replayed[index]?.acks, acks, 'a replay returns the original acks');
      });
      const after = await verifyStore(second.baseUrl, [...acked, ...retried]);
      const inFlightEvents = inDoubt.reduce((sum, a) => sum + a.events.length, 0);
      const newlyWritten = retried.reduce(
        (sum, { acks }, index) => sum + (stored[index] ? 0 : acks.length),
        0,
      );
      assert.equal(
        after.log.length,
        log.length + newlyWritten,
        'retries wrote only what was missing',
      );
      assert.ok(after.log.length <= ackedEvents + inFlightEvents);
      await killHard(second);
    });

    it(`keeps a ${BIG_BATCH}-event batch all-or-nothing when killed during it`, {
      timeout: TEST_DEADLINE_MS,
    }, async (t) => {
      const store = await deployment(t, engine);
      let server = await store.start();
      const batchOf = (entity: string) =>
        entityAppend(
          entity,
          Array.from({ length: BIG_BATCH }, (_, n) => newEvent(entity, entity, n)),
        );
      const baseline = batchOf('big-baseline');
      const sentAt = Date.now();
      const baselineReply = await send(server.baseUrl, 'POST', baseline.path, baseline.body);
      assert.equal(baselineReply.status, 201);
      const roundTripMs = Date.now() - sentAt;
      const acked: Acked[] = [{ attempt: baseline, acks: acksOf(baselineReply) }];
      t.diagnostic(`a ${BIG_BATCH}-event batch takes ${roundTripMs} ms`);

      // Bisect the kill time between "nothing committed" and "committed", so later
      // rounds land inside the insert loop and the commit, where tearing would happen.
      let delayMs = roundTripMs * 0.8;
      let before = 0;
      let after: number | undefined;
      for (let round = 0; round < BIG_BATCH_ROUNDS; round++) {
        const attempt = batchOf(`big-${round}`);
        const pending = send(server.baseUrl, 'POST', attempt.path, attempt.body).then(
          (reply) => reply,
          () => undefined,
        );
        await new Promise((resolve) => setTimeout(resolve, Math.round(delayMs)));
        await killHard(server);
        const reply = await pending;
        if (reply) {
          assert.equal(reply.status, 201, JSON.stringify(reply.body));
          acked.push({ attempt, acks: acksOf(reply) });
        }

        server = await store.start();
        const { byId } = await verifyStore(server.baseUrl, acked);
        const committed = assertAllOrNothing(byId, attempt);
        t.diagnostic(
          `killed ${Math.round(delayMs)} ms into the request: ${reply ? 'acknowledged' : committed ? 'committed, unacknowledged' : 'not committed'}`,
        );
        if (!reply) acked.push(await retry(server.baseUrl, attempt, committed));
        await verifyStore(server.baseUrl, acked);
        if (committed) after = delayMs;
        else before = delayMs;
        delayMs = after === undefined ? delayMs * 1.5 : (before + after) / 2;
      }
      await killHard(server);
    });
  });
}
