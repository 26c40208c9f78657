import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/** What each client sends, again and again. Plain data: it crosses to the worker thread. */
export interface LoadSpec {
  readonly method: 'GET' | 'POST';
  /** `{client}` becomes the client's index, so clients can spread over entities. */
  readonly url: string;
  /** JSON request body (POST). */
  readonly body?: string | undefined;
  /** Sent as X-API-Key: the event routes need credentials like any client's. */
  readonly apiKey?: string | undefined;
  readonly concurrency: number;
  readonly durationMs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * A small closed-loop load generator: `concurrency` keep-alive clients each send
 * the next request as soon as the previous answer arrives, for `durationMs`. Any
 * status outside 2xx counts as an error. It runs in the same process as the
 * server, so figures are a lower bound on 2 cores.
 */
export async function loadRequests(spec: LoadSpec): Promise<LoadResult> {
  const { concurrency, durationMs } = spec;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers = {
    ...(spec.apiKey === undefined ? {} : { 'x-api-key': spec.apiKey }),
    ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
  };
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const one = (url: string) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(url, { agent, method: spec.method, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) errors++;
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      const url = spec.url.replaceAll('{client}', String(client));
      while (performance.now() < deadline) await one(url);
    }),
  );
  const elapsed = performance.now() - began;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    perSecond: (latencies.length / elapsed) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}

/** GETs of one URL: the platform benchmark's load. */
export function loadGet(url: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  return loadRequests({ method: 'GET', url, concurrency, durationMs });
}

/** Runs `loadRequests` on a worker thread, so the client does not steal the server's event loop. */
export async function loadInWorker(spec: LoadSpec): Promise<LoadResult> {
  const worker = new Worker(new URL('./http-load-worker.ts', import.meta.url), {
    workerData: spec,
  });
  const [result] = (await once(worker, 'message')) as [LoadResult];
  await worker.terminate();
  return result;
}

export function loadGetInWorker(
  url: string,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  return loadInWorker({ method: 'GET', url, concurrency, durationMs });
}
