import type { Engine } from '../src/storage/database.ts';
import { withListeningApp } from './events-app.ts';
import { benchEvent, benchEvents } from './events-fixture.ts';
import { type LoadResult, type LoadSpec, loadInWorker } from './http-load.ts';

export interface HttpAppendFigure {
  readonly engine: Engine;
  readonly name: string;
  readonly clients: number;
  readonly eventsPerRequest: number;
  /** A string says why it could not run. */
  readonly result: LoadResult | string;
}

export interface HttpAppendOptions {
  readonly batchSize: number;
  readonly batchClients: number;
  readonly singleClients: number;
  readonly durationMs: number;
}

/** Long enough for the JIT and Fastify's compiled serialisers to settle. */
const WARM_UP_MS = 500;

/**
 * Appends over real HTTP from a worker thread, each client on its own entity, each
 * load on a fresh database: batches to `POST /entities/{id}/events`, then one event
 * per request from many keep-alive clients (where group commit must do the work).
 */
export async function benchHttpAppends(
  engine: Engine,
  options: HttpAppendOptions,
): Promise<HttpAppendFigure[]> {
  const loads = [
    { name: 'batch', clients: options.batchClients, events: benchEvents(options.batchSize, 0) },
    { name: 'single', clients: options.singleClients, events: [benchEvent(0)] },
  ];
  const figures: HttpAppendFigure[] = [];
  for (const load of loads) {
    const result = await withListeningApp(engine, async (api, _scratch, apiKey) => {
      const spec: LoadSpec = {
        method: 'POST',
        apiKey,
        url: `${api}/entities/${load.name}-{client}/events`,
        body: JSON.stringify({ events: load.events }),
        concurrency: load.clients,
        durationMs: options.durationMs,
      };
      await loadInWorker({ ...spec, durationMs: WARM_UP_MS });
      return loadInWorker(spec);
    });
    figures.push({
      engine,
      name: load.name,
      clients: load.clients,
      eventsPerRequest: load.events.length,
      result,
    });
  }
  return figures;
}
