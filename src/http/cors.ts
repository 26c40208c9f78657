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
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    // Browsers cache a preflight answer this long (they cap it: Chromium at 2 hours).
    maxAge: 600,
    // A bare OPTIONS (no Origin) gets 204 instead of a text/plain 400 outside our problem format.
    strictPreflight: false,
  });
}
