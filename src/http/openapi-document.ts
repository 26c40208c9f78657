import type { FastifySchema, RouteOptions } from 'fastify';
import { operationIdFor } from './openapi-operation-id.ts';

/**
 * The credentials the guard accepts (src/identity/guard/guard.ts), as OpenAPI security
 * schemes: what generators turn into client options and what the /docs explorer's
 * "Authorize" dialog asks for.
 */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'An access token from `POST /api/v1/auth/login` (RFC 6750 `Authorization: Bearer`). An API key is accepted here too.',
  },
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'An API key (`tsk_...`) from `POST /api/v1/auth/api-keys`.',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: '`metrics.bearer_token`, when the configuration sets one (GET /metrics only).',
  },
} as const;

type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

/** Either credential authenticates (OpenAPI: alternatives are separate requirement objects). */
const GUARDED: readonly SecurityRequirement[] = [{ bearerAuth: [] }, { apiKey: [] }];

/**
 * The OpenAPI view of a route, decided from what the route declares, so that routes
 * added later are documented without remembering anything:
 * - `security` from `config.access`, the same declaration the guard enforces:
 *   `public` and routes outside the guard need none (`[]`), every other needs a
 *   token or an API key. A route may state its own `schema.security` (GET /metrics).
 * - the permission, in the description;
 * - a WebSocket route's handshake answer (see `webSocketResponse`).
 */
export function documentRoute(schema: FastifySchema | undefined, route: RouteOptions) {
  const access = route.config?.access;
  const permission =
    access === undefined || access === 'public'
      ? undefined
      : access === 'authenticated'
        ? 'Any valid access token or API key.'
        : `Requires the \`${access}\` permission.`;
  const description = [schema?.description, permission].filter(Boolean).join('\n\n');
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  const isWebSocket = route.wsHandler !== undefined || route.websocket === true;
  return {
    ...schema,
    ...(description === '' ? {} : { description }),
    security: schema?.security ?? (permission === undefined ? [] : GUARDED),
    response: isWebSocket && !hasSuccess(response) ? webSocketResponse(response) : response,
  };
}

function hasSuccess(response: Record<string, unknown>): boolean {
  return Object.keys(response).some((code) => /^(2..|default)$/i.test(code));
}

/**
 * A WebSocket handshake succeeds with 101 Switching Protocols (RFC 6455 §4.2.2),
 * which OpenAPI cannot describe as a success. With 4XX and 5XX declared, `default`
 * covers exactly the remaining statuses, so it documents the 101 and lets
 * generators and linters (which want a 2XX or `default`) accept the operation.
 */
function webSocketResponse(response: Record<string, unknown>): Record<string, unknown> {
  return {
    ...response,
    default: {
      description:
        '101 Switching Protocols: the connection is now a WebSocket (RFC 6455); send the request with `Upgrade: websocket`.',
    },
  };
}

interface Operation {
  operationId?: string;
  parameters?: Array<{ in: string; required?: boolean; schema?: { default?: unknown } }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Last pass over the whole document: an `operationId` for every operation (from its
 * method and path, unless the route set one), and nothing a client may omit marked
 * required. Ajv fills in a default before it checks `required`, so a query parameter
 * or body property with a default is optional to the client; TypeBox lists it as
 * required, which generated clients would enforce.
 */
export function finishDocument<T extends { paths?: unknown }>(document: T): T {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      operation.operationId ??= operationIdFor(method, path);
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'path' && parameter.schema && 'default' in parameter.schema) {
          parameter.required = false;
        }
      }
      for (const media of Object.values(operation.requestBody?.content ?? {})) {
        media.schema = withoutRequiredDefaults(media.schema);
      }
    }
  }
  return document;
}

/** A copy of a request schema whose properties with a default are not required. */
export function withoutRequiredDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequiredDefaults);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withoutRequiredDefaults(value);
  const properties = copy.properties as Record<string, object> | undefined;
  if (Array.isArray(copy.required) && properties) {
    copy.required = copy.required.filter(
      (name: string) => !(properties[name] && 'default' in properties[name]),
    );
    if ((copy.required as unknown[]).length === 0) delete copy.required;
  }
  return copy;
}
