import { Agent, request } from 'node:http';
import type { Engine } from '../src/storage/database.ts';
import { keepAliveAgents } from '../src/webhooks/delivery/courier.ts';
import { headersOf } from '../src/webhooks/delivery/message.ts';
import { postWebhook } from '../src/webhooks/delivery/post-webhook.ts';
import { newSigningSecret } from '../src/webhooks/signing/signing-secret.ts';
import { withListeningApp } from './events-app.ts';
import { benchEvent, benchEvents } from './events-fixture.ts';
import { type LoadResult, type LoadSpec, loadInWorker } from './http-load.ts';
import { type Receivers, startReceivers } from './webhook-receivers.ts';

export interface WebhookBenchOptions {
  /** Events in the backlog each endpoint is replayed over. */
  readonly events: number;
  /** Endpoints delivering at once in the fan-out row. */
  readonly fanOut: number;
  /** Endpoints receiving everything while the append load runs. */
  readonly appendEndpoints: number;
  /** Each append load's measured time (after a warm-up). */
  readonly appendMs: number;
  /** Each raw HTTP baseline's time. */
  readonly rawMs: number;
  /** Append loads run this many times each way (alternating); each keeps its best. */
  readonly rounds: number;
  /** The most a delivery run may take before it is reported unfinished. */
  readonly deadlineMs: number;
}

/** A delivery rate: a string says why it is missing (or what was left undelivered). */
export interface DeliveryFigure {
  readonly engine: Engine;
  readonly path: string;
  readonly endpoints: number;
  readonly deliveries: number;
  readonly seconds: number;
  readonly perSecond: number | string;
  /**
   * CPU time of the whole bench process (every thread: Tessera, the receivers, the
   * requests' client) per request answered. Unlike the rate, other work on the machine
   * hardly moves it.
   */
  readonly cpuUs: number;
}

export interface AppendCostFigure {
  readonly engine: Engine;
  readonly load: string;
  readonly eventsPerRequest: number;
  readonly clients: number;
  readonly endpoints: number;
  readonly without: LoadResult | string;
  readonly with: LoadResult | string;
  /** Deliveries the receivers answered during the measured load with endpoints. */
  readonly delivered: number;
  /** Each round's requests/s, without and with endpoints (a round's two runs are neighbours). */
  readonly rounds: { readonly without: number[]; readonly with: number[] };
}

export interface WebhookFigures {
  readonly delivery: DeliveryFigure[];
  readonly appendCost: AppendCostFigure[];
  /** Mean body bytes of a delivered message (the raw baselines send as many). */
  readonly bodyBytes: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the bench reads answers' JSON as the API documents it
type Json = any;

interface WebhookApp {
  /** A JSON request to /api/v1 with the bench tenant's admin key; throws unless 2xx. */
  call(method: string, path: string, body?: unknown): Promise<Json>;
  readonly api: string;
  readonly apiKey: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Long enough for the JIT and Fastify's compiled serialisers to settle (as events-http.ts). */
const WARM_UP_MS = 500;

/** How often a run looks at the receivers' counts. */
const POLL_MS = 10;

/**
 * Tessera listening on 127.0.0.1 over a fresh scratch database, its dispatcher running
 * with the default delivery settings, except that it may post to the local receivers
 * (http://127.0.0.1): as `withListeningApp` (events-app.ts) otherwise.
 */
function withWebhookApp<T>(
  engine: Engine,
  fn: (app: WebhookApp) => Promise<T>,
): Promise<T | string> {
  return withListeningApp(
    engine,
    (api, _scratch, apiKey) => {
      const call = (method: string, path: string, body?: unknown) =>
        apiCall(`${api}${path}`, method, apiKey, body);
      return fn({ call, api, apiKey });
    },
    (config) => ({
      ...config,
      webhooks: { ...config.webhooks, allow_insecure_urls: true, allow_private_networks: true },
    }),
  );
}

/**
 * One API request on its own connection, closed after the answer: a keep-alive socket
 * left open would count against `server.max_connections_per_ip` (64, all from
 * 127.0.0.1 here) beside the 64 clients of the single-event load.
 */
function apiCall(url: string, method: string, apiKey: string, body?: unknown): Promise<Json> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: {
          'x-api-key': apiKey,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': String(payload.length) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299)
            reject(new Error(`${method} ${url}: ${status} ${text}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Waits until `done()` or the deadline; answers whether it was done. */
async function until(done: () => boolean, deadlineMs: number): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

const createEndpoint = async (app: WebhookApp, url: string): Promise<string> =>
  (await app.call('POST', '/webhooks', { url, event_types: ['*'] })).id;

/**
 * Replays the backlog from `fromPosition` to `endpoints` endpoints at once (each its
 * own receiver), `perEndpoint` events each, and times it from the first replay request
 * to the last delivery answered.
 */
async function deliverBacklog(
  engine: Engine,
  app: WebhookApp,
  receivers: Receivers,
  endpoints: number,
  perEndpoint: number,
  fromPosition: number,
  deadlineMs: number,
): Promise<DeliveryFigure> {
  const ids: string[] = [];
  for (let i = 0; i < endpoints; i++) {
    ids.push(await createEndpoint(app, receivers.urls[i] as string));
  }
  receivers.reset();
  const indexes = ids.map((_, i) => i);
  const received = () => indexes.reduce((sum, i) => sum + receivers.count(i), 0);
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const id of ids) {
    await app.call('POST', `/webhooks/${id}/replay`, { from_position: fromPosition });
  }
  const done = await until(
    () => indexes.every((i) => receivers.count(i) >= perEndpoint),
    deadlineMs,
  );
  const seconds = (performance.now() - started) / 1000;
  const deliveries = received();
  const cpuUs = cpuMicros(cpu) / Math.max(1, deliveries);
  for (const id of ids) await app.call('DELETE', `/webhooks/${id}`);
  const wanted = endpoints * perEndpoint;
  return {
    engine,
    path: endpoints === 1 ? 'dispatcher, 1 endpoint' : `dispatcher, ${endpoints} endpoints at once`,
    endpoints,
    deliveries,
    seconds,
    cpuUs,
    perSecond: done
      ? deliveries / seconds
      : `${fmt(deliveries)} of ${fmt(wanted)} delivered in ${seconds.toFixed(0)} s`,
  };
}

/** A POST body of exactly `bytes` bytes of JSON. */
const bodyOf = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(Math.max(0, bytes - 10)) });

/** CPU microseconds (user and system, all threads) since `since`. */
function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Sequential POSTs for `ms`, each awaited before the next: the rate, and CPU µs per request. */
async function sequentialRate(
  ms: number,
  post: () => Promise<boolean>,
): Promise<{ perSecond: number | string; cpuUs: number }> {
  let done = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const deadline = started + ms;
  while (performance.now() < deadline) {
    if (!(await post())) return { perSecond: 'a request failed', cpuUs: 0 };
    done++;
  }
  const cpuUs = cpuMicros(cpu) / Math.max(1, done);
  return { perSecond: (done / (performance.now() - started)) * 1000, cpuUs };
}

function rawPost(url: string, body: string, headers: Record<string, string>, agent: Agent | false) {
  return new Promise<boolean>((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 204));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/**
 * The HTTP round-trip bounds from this process to the same kind of receiver, one
 * request at a time with a body of the size delivered: over one keep-alive
 * connection, over a new connection per request, and through `postWebhook` itself
 * with the keep-alive pools the delivery thread posts through.
 */
async function rawBaselines(
  engine: Engine,
  url: string,
  bodyBytes: number,
  ms: number,
): Promise<DeliveryFigure[]> {
  const body = bodyOf(bodyBytes);
  const headers = headersOf(
    { id: 'msg_benchbenchbenchbenchbenchbenc', body },
    [newSigningSecret()],
    Date.now(),
  );
  const agents = keepAliveAgents();
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  const paths: [string, () => Promise<boolean>][] = [
    ['raw http.request, keep-alive', () => rawPost(url, body, headers, keepAlive)],
    ['raw http.request, new connection each', () => rawPost(url, body, headers, false)],
    [
      'postWebhook (the poster alone, keep-alive pools)',
      async () => {
        const result = await postWebhook(url, headers, body, {
          timeoutMs: 10_000,
          maxResponseBytes: 1024,
          allowPrivateNetworks: true,
          agents,
        });
        return result.kind === 'response' && result.status === 204;
      },
    ],
  ];
  const figures: DeliveryFigure[] = [];
  for (const [path, post] of paths) {
    const { perSecond, cpuUs } = await sequentialRate(ms, post);
    figures.push({
      engine,
      path,
      endpoints: 1,
      deliveries: 0,
      seconds: ms / 1000,
      perSecond,
      cpuUs,
    });
  }
  keepAlive.destroy();
  agents.http.destroy();
  return figures;
}

/**
 * Appends a backlog of `events` (1,000 per request, as the HTTP batch load sends them),
 * one entity per request; answers their positions in order.
 */
async function appendBacklog(app: WebhookApp, events: number): Promise<number[]> {
  const positions: number[] = [];
  for (let offset = 0; offset < events; offset += 1000) {
    const count = Math.min(1000, events - offset);
    const reply = await app.call('POST', `/entities/backlog-${offset / 1000}/events`, {
      events: benchEvents(count, offset),
    });
    positions.push(...reply.events.map((event: { position: number }) => event.position));
  }
  return positions;
}

async function deliveryFigures(
  engine: Engine,
  receivers: Receivers,
  options: WebhookBenchOptions,
): Promise<{ figures: DeliveryFigure[]; bodyBytes: number }> {
  let bodyBytes = 0;
  const { events, fanOut, deadlineMs } = options;
  const figures = await withWebhookApp(engine, async (app) => {
    const positions = await appendBacklog(app, events);
    const one = await deliverBacklog(engine, app, receivers, 1, events, 1, deadlineMs);
    bodyBytes = Math.round(receivers.bytes(0) / Math.max(1, receivers.count(0)));
    // The same number of deliveries spread over `fanOut` endpoints: each replays the
    // last events / fanOut of the backlog.
    const share = Math.floor(events / fanOut);
    const from = positions[events - share] as number;
    const many = await deliverBacklog(engine, app, receivers, fanOut, share, from, deadlineMs);
    return [one, many];
  });
  if (typeof figures === 'string') {
    const missing = { engine, endpoints: 1, deliveries: 0, seconds: 0, cpuUs: 0 };
    return { figures: [{ ...missing, path: 'dispatcher', perSecond: figures }], bodyBytes };
  }
  const raw = await rawBaselines(engine, receivers.urls.at(-1) as string, bodyBytes, options.rawMs);
  return { figures: [...raw, ...figures], bodyBytes };
}

/** The faster of two loads; a result always beats a reason. */
function best(a: LoadResult | string | undefined, b: LoadResult | string): LoadResult | string {
  if (a === undefined || typeof b === 'string') return a ?? b;
  return typeof a === 'string' || b.perSecond > a.perSecond ? b : a;
}

/** The HTTP append loads of events-http.ts, and one light load. */
const APPEND_LOADS = [
  { name: 'batch', clients: 4, events: benchEvents(1000, 0), roundsFactor: 1 },
  { name: 'single', clients: 64, events: [benchEvent(0)], roundsFactor: 1 },
  // One client appending one event at a time: a light load that deliveries keep up
  // with, so that each commit finds the endpoints idle and wakes every one of them.
  // Bound by round trips (an fsync each on PostgreSQL), it varies most from run to run,
  // so it runs twice the rounds: it is the cheapest to repeat.
  { name: 'sequential', clients: 1, events: [benchEvent(0)], roundsFactor: 2 },
];

const rate = (result: LoadResult | string) => (typeof result === 'string' ? 0 : result.perSecond);

/**
 * One HTTP append load on a fresh database with `endpoints` endpoints receiving every
 * event (their receivers answering 204): requests per second, and the deliveries the
 * receivers answered meanwhile.
 */
async function appendWith(
  engine: Engine,
  receivers: Receivers,
  load: (typeof APPEND_LOADS)[number],
  endpoints: number,
  durationMs: number,
): Promise<{ result: LoadResult | string; delivered: number }> {
  let delivered = 0;
  const result = await withWebhookApp(engine, async (app) => {
    for (let i = 0; i < endpoints; i++) await createEndpoint(app, receivers.urls[i] as string);
    const spec: LoadSpec = {
      method: 'POST',
      apiKey: app.apiKey,
      url: `${app.api}/entities/${load.name}-{client}/events`,
      body: JSON.stringify({ events: load.events }),
      concurrency: load.clients,
      durationMs,
    };
    await loadInWorker({ ...spec, durationMs: WARM_UP_MS });
    receivers.reset();
    const measured = await loadInWorker(spec);
    for (let i = 0; i < endpoints; i++) delivered += receivers.count(i);
    return measured;
  });
  return { result, delivered };
}

/**
 * `npm run bench`'s webhooks section for one engine: delivery throughput from a
 * backlog to local receivers beside the raw HTTP bounds, and HTTP append throughput
 * without endpoints and with endpoints receiving everything, in the same run.
 */
export async function benchWebhooks(
  engine: Engine,
  options: WebhookBenchOptions,
): Promise<WebhookFigures> {
  const receivers = await startReceivers(Math.max(options.fanOut, options.appendEndpoints) + 1);
  try {
    const { figures: delivery, bodyBytes } = await deliveryFigures(engine, receivers, options);
    const appendCost: AppendCostFigure[] = [];
    for (const load of APPEND_LOADS) {
      let without: LoadResult | string | undefined;
      let withHooks: { result: LoadResult | string; delivered: number } | undefined;
      const rounds = { without: [] as number[], with: [] as number[] };
      // Rounds alternate the order (without, with; with, without; ...) so that a drift
      // of the machine's speed weighs on both. Every round's rate is kept (the report
      // compares medians), and each side's best run for its latency and deliveries.
      for (let round = 0; round < options.rounds * load.roundsFactor; round++) {
        const runWithout = async () => {
          const run = await appendWith(engine, receivers, load, 0, options.appendMs);
          rounds.without.push(rate(run.result));
          without = best(without, run.result);
        };
        const runWith = async () => {
          const run = await appendWith(
            engine,
            receivers,
            load,
            options.appendEndpoints,
            options.appendMs,
          );
          rounds.with.push(rate(run.result));
          if (withHooks === undefined || best(withHooks.result, run.result) === run.result)
            withHooks = run;
        };
        if (round % 2 === 0) {
          await runWithout();
          await runWith();
        } else {
          await runWith();
          await runWithout();
        }
      }
      appendCost.push({
        engine,
        load: load.name,
        eventsPerRequest: load.events.length,
        clients: load.clients,
        endpoints: options.appendEndpoints,
        without: without as LoadResult | string,
        with: (withHooks as { result: LoadResult | string }).result,
        delivered: (withHooks as { delivered: number }).delivered,
        rounds,
      });
    }
    return { delivery, appendCost, bodyBytes };
  } finally {
    await receivers.close();
  }
}
