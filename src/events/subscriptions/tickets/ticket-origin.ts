import type { FastifyRequest } from 'fastify';
import { isOriginAllowed } from '../../../http/cors.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { EventErrors } from '../../errors.ts';

/**
 * A ticket in the URL is a credential any page could have put there: a subscription
 * it opens must come from a page of an allowed origin (`server.cors_origins`) or of
 * this server, never from another site's page (cross-site WebSocket hijacking).
 */
export function checkTicketOrigin(
  request: FastifyRequest<{ Querystring: { ticket?: string | undefined } }>,
  origins: readonly string[],
): void {
  if (request.query.ticket === undefined) return;
  const origin = request.headers.origin;
  if (isOriginAllowed(origin, request.headers.host, origins)) return;
  throw new TesseraError(
    EventErrors.origin_not_allowed,
    `Origin ${origin} may not subscribe with a ticket; allowed origins are listed in server.cors_origins.`,
  );
}
