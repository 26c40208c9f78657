import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { REQUEST_ID_HEADER } from './request-id.ts';

/** Headers browser scripts may read: the request id, and rate-limit state (RFC 6585 §4). */
export const EXPOSED_HEADERS = [
  REQUEST_ID_HEADER,
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
];

/** Request headers a page of an allowed origin may send. */
export const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'content-encoding',
  'x-api-key',
  REQUEST_ID_HEADER,
  'last-event-id',
];

/**
 * Whether a page at `origin` may use a URL credential (a subscription ticket): a
 * configured origin ("*": any), or this server's own (`host`). WebSocket has no CORS:
 * any page can open one to any server, so a server that authenticates an upgrade by
 * something the page put in the URL checks Origin itself (RFC 6455 §10.2,
 * cross-site WebSocket hijacking). No Origin: not a browser, nothing to check.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  origins: readonly string[],
): boolean {
  if (origin === undefined || origins.includes('*') || origins.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * CORS from `server.cors_origins`: off when empty (no CORS headers at all, so
 * browsers keep the same-origin policy), an exact allow-list otherwise, and any
 * origin only when "*" is listed. Origins are compared as whole strings, never as
 * prefixes or patterns. No credentials: the API authenticates with headers, not cookies.
 */
export async function registerCors(
  app: FastifyInstance,
  origins: readonly string[],
): Promise<void> {
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // Named, not echoed from the preflight: what a page may send, credentials included
    // (a ticket is fetched with Authorization, then used in an EventSource's URL).
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    // Browsers cache a preflight answer this long (they cap it: Chromium at 2 hours).
    maxAge: 600,
    // A bare OPTIONS (no Origin) gets 204 instead of a text/plain 400 outside our problem format.
    strictPreflight: false,
  });
}
