import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { Config } from '../config/schema.ts';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';

/** The `route` label of requests no route matched (404, 405): one series, not one per URL. */
export const UNMATCHED_ROUTE = '<unmatched>';

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop, GC) describe the process, not an app:
 * collected once into one module-level registry, however many apps a test builds.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Per-app HTTP metrics, merged with the process metrics at scrape time. Scrapes of
 * /metrics are counted like any request: a scraper's rate is worth seeing, and it
 * is one series. Labelled by route pattern, never the raw URL, to bound cardinality.
 *
 * Returns the app's registry, where other parts of the app register their counters.
 * With metrics disabled it is still returned (counting costs next to nothing) but
 * nothing serves it.
 */
export function installMetrics(app: FastifyInstance, config: Config['metrics']): Registry {
  const registry = new Registry();
  if (!config.enabled) return registry;
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, in seconds.',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: routeLabel(request),
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  const authorize = bearerCheck(config.bearer_token);
  app.get('/metrics', { schema: METRICS_ROUTE_SCHEMA }, async (request, reply) => {
    authorize(request);
    const merged = Registry.merge([processMetrics(), registry]);
    return reply.type(merged.contentType).send(await merged.metrics());
  });
  return registry;
}

const METRICS_ROUTE_SCHEMA = {
  summary: 'Prometheus metrics',
  description:
    'Process and HTTP metrics in Prometheus text format 0.0.4. Requires a bearer token when metrics.bearer_token is set.',
  tags: ['platform'],
  // Open, or the metrics token when one is configured: `{}` is "no credentials".
  security: [{}, { metricsToken: [] }] as Array<Record<string, string[]>>,
  response: {
    200: {
      description: 'Prometheus text exposition format.',
      content: { 'text/plain': { schema: Type.String() } },
    },
  },
};

function routeLabel(request: FastifyRequest): string {
  if (request.is404) return UNMATCHED_ROUTE;
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

/**
 * With `metrics.bearer_token` set, scrapes must send `Authorization: Bearer <token>`
 * (RFC 6750 §2.1). Both sides are hashed first so the comparison is constant-time
 * whatever the lengths: timing must not reveal how much of a guess was right.
 */
function bearerCheck(token: string): (request: FastifyRequest) => void {
  if (token === '') return () => {};
  const expected = sha256(token);
  return (request) => {
    const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] && timingSafeEqual(sha256(match[1]), expected)) return;
    throw new TesseraError(
      HttpErrors.unauthorized,
      'GET /metrics requires Authorization: Bearer <metrics token>.',
      {
        // RFC 6750 §3: a 401 names the scheme the client should use.
        headers: { 'www-authenticate': 'Bearer realm="tessera-metrics"' },
      },
    );
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
