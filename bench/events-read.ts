import { type Events, openEvents } from '../src/events/open-events.ts';
import type { Engine } from '../src/storage/database.ts';
import { withListeningApp } from './events-app.ts';
import { benchEvents, EVENT_TYPES, TENANT } from './events-fixture.ts';
import { loadInWorker, percentile } from './http-load.ts';

export interface ReadFigure {
  readonly engine: Engine;
  readonly name: string;
  /** Milliseconds, one call at a time, through the service without HTTP. */
  readonly inProcessP50: number;
  readonly httpP50: number;
  readonly httpP99: number;
}

const STREAM_EVENTS = 100;
const STATE_EVENTS = 1000;
const STATE_ENTITY = 'state-1000';
const QUERY_TYPE = EVENT_TYPES[1] as string;
/** Events per append call while filling the log. */
const FILL_CHUNK = 10_000;

/**
 * Fills the log with `logEvents` events: entities of 100 events (types rotating, so
 * each type is a quarter of the log) plus one entity of 1,000 for the state fold.
 */
async function fill(events: Events, logEvents: number): Promise<string> {
  const store = events.store;
  await store.appendUnits([
    {
      tenant_id: TENANT,
      entities: [
        { entity_id: STATE_ENTITY, expected_version: 'any', events: benchEvents(STATE_EVENTS, 0) },
      ],
    },
  ]);
  const streams = Math.max(1, Math.floor(logEvents / STREAM_EVENTS));
  const perChunk = FILL_CHUNK / STREAM_EVENTS;
  for (let first = 0; first < streams; first += perChunk) {
    const count = Math.min(perChunk, streams - first);
    const entities = Array.from({ length: count }, (_, i) => ({
      entity_id: `stream-${first + i}`,
      expected_version: 'any' as const,
      events: benchEvents(STREAM_EVENTS, (first + i) * STREAM_EVENTS),
    }));
    await store.appendUnits([{ tenant_id: TENANT, entities }]);
  }
  return `stream-${Math.floor(streams / 2)}`;
}

/** Median of one-at-a-time calls for `durationMs` (after a short warm-up). */
async function medianOf(call: () => Promise<unknown>, durationMs: number): Promise<number> {
  for (let i = 0; i < 50; i++) await call();
  const samples: number[] = [];
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return percentile(
    samples.sort((a, b) => a - b),
    50,
  );
}

/**
 * Read latency with nothing else running: one client, one request at a time, in
 * process (the service, no HTTP) and over HTTP from a worker thread.
 */
export async function benchReads(
  engine: Engine,
  logEvents: number,
  durationMs: number,
): Promise<ReadFigure[] | string> {
  return withListeningApp(engine, async (api, scratch, apiKey) => {
    const events = await openEvents(scratch.db, scratch.config);
    try {
      const entity = await fill(events, logEvents);
      const reads = [
        {
          name: `${STREAM_EVENTS}-event entity read`,
          path: `/entities/${entity}/events?limit=${STREAM_EVENTS}`,
          call: () =>
            events.store.readStream(TENANT, entity, {
              direction: 'forward',
              limit: STREAM_EVENTS,
            }),
        },
        {
          name: `query by type (${QUERY_TYPE}, limit 100)`,
          path: `/events/query?event_type=${QUERY_TYPE}&limit=100`,
          call: () =>
            events.store.query(TENANT, {
              event_types: [QUERY_TYPE],
              order: 'asc',
              limit: 100,
            }),
        },
        {
          name: `state of a ${STATE_EVENTS.toLocaleString('en-US')}-event entity`,
          path: `/entities/${STATE_ENTITY}/state`,
          call: () => events.state.state(TENANT, STATE_ENTITY),
        },
      ];
      const figures: ReadFigure[] = [];
      for (const read of reads) {
        const inProcessP50 = await medianOf(read.call, durationMs);
        const spec = { method: 'GET' as const, url: `${api}${read.path}`, apiKey, concurrency: 1 };
        await loadInWorker({ ...spec, durationMs: 300 });
        const http = await loadInWorker({ ...spec, durationMs });
        if (http.errors > 0) throw new Error(`GET ${read.path}: ${http.errors} errors`);
        figures.push({
          engine,
          name: read.name,
          inProcessP50,
          httpP50: http.p50Ms,
          httpP99: http.p99Ms,
        });
      }
      return figures;
    } finally {
      await events.close();
    }
  });
}
