import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';

/**
 * Shutdown behaviour of the HTTP layer, once the app starts closing:
 * - answers still in flight go out with `Connection: close` (RFC 9112 §9.6), so a
 *   keep-alive client does not hold its connection and make shutdown wait for the
 *   full timeout;
 * - a request that still arrives (pipelined on an open connection) gets a 503
 *   problem document with `Retry-After`, instead of Fastify's plain-JSON 503
 *   (the app sets `return503OnClosing: false` for this).
 */
export function installDraining(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', async () => {
    if (!draining) return;
    throw new TesseraError(
      HttpErrors.service_unavailable,
      'Tessera is shutting down; retry the request',
      {
        headers: { 'retry-after': '1' },
      },
    );
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
}
