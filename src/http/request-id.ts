import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSafeRequestId, newRequestId } from '../platform/ids.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Fastify's `genReqId` (with `requestIdHeader: false`, so Fastify never trusts the
 * header itself): a client's X-Request-ID is kept only when it is short and made of
 * safe characters, since it is echoed in headers and written to every log line.
 */
export function genRequestId(raw: IncomingMessage): string {
  const offered = raw.headers[REQUEST_ID_HEADER];
  return isSafeRequestId(offered) ? offered : newRequestId();
}

export function setRequestIdHeader(request: FastifyRequest, reply: FastifyReply): void {
  reply.header(REQUEST_ID_HEADER, request.id);
}

/** Every response, errors and 404s included, carries the request id. */
export function installRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    setRequestIdHeader(request, reply);
  });
}
