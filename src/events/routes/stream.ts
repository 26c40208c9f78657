import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Principal } from '../../access/principal.ts';
import { TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';
import type { EventRoutesOptions } from '../event-routes.ts';
import { trackForShutdown } from '../subscriptions/shutdown-tracker.ts';
import type { SubscriptionSlot } from '../subscriptions/subscription-limits.ts';
import { logFilterOf, SubscriptionQuery } from '../subscriptions/subscription-query.ts';
import { checkTicketOrigin } from '../subscriptions/tickets/ticket-origin.ts';
import { createWsSink } from '../subscriptions/ws-sink.ts';

const DESCRIPTION = `WebSocket: the tenant's events after \`from_position\`, then new ones as they commit, in position order.
Text messages \`{"type":"event","event":{...}}\`, and \`{"type":"heartbeat"}\` while idle.
When the server ends the stream, the close reason is the JSON \`{"code", "last_position"}\`:
4008 \`subscriber_too_slow\`, 1001 \`service_unavailable\`, 1011 \`internal_error\`; resume after \`last_position\`.
Open subscriptions are capped per tenant (by plan) and per credential: beyond, 429 \`subscription_limit_reached\` (before the upgrade).
A request without \`Upgrade: websocket\` gets 400. The server expects no messages and never parses them: one over 4 KiB closes the socket with 1009.`;

/** Messages from the client are not used; this only bounds what one may cost. */
const MAX_CLIENT_MESSAGE_BYTES = 4096;

/**
 * A client breaking the protocol (a message over MAX_CLIENT_MESSAGE_BYTES, invalid
 * UTF-8, a bad frame) is the client's fault, not ours: logged at info, and the
 * socket is left to ws, which has already sent the close frame whose code says why
 * (RFC 6455 §7.4.1: 1009 message too big, 1007 invalid data, 1002 protocol error).
 * Anything else is a server error, logged as one, and the socket is cut.
 */
function onSocketError(error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
    request.log.info(
      { ws_error: code, detail: error.message },
      'websocket client broke the protocol',
    );
    return;
  }
  request.log.error({ err: error }, 'websocket failed');
  socket.terminate();
}

/** `GET /events/stream`: live subscription over WebSocket. */
export const streamRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events, subscriptionLimits, corsOrigins },
) => {
  const hub = events.subscriptions;
  // Before @fastify/websocket's own preClose, which closes sockets without a reason.
  const track = trackForShutdown(app);
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES },
    errorHandler: onSocketError,
  });
  const starts = new WeakMap<FastifyRequest, { from: number; slot: SubscriptionSlot }>();

  app.route({
    method: 'GET',
    url: '/events/stream',
    config: { access: 'events:read', subscriptionTicket: true },
    schema: {
      summary: 'Subscribe to events (WebSocket)',
      description: DESCRIPTION,
      tags: ['events'],
      querystring: SubscriptionQuery,
    },
    // Before the upgrade: whatever commits after the client sees the 101 is delivered.
    // The slot too, so a refusal is a plain 429 rather than an upgrade closed at once.
    preHandler: async (request) => {
      if (!request.ws) return;
      checkTicketOrigin(request, corsOrigins);
      const slot = await subscriptionLimits.reserve(request.principal as Principal);
      // Released with the connection too, in case the upgrade never completes.
      request.raw.socket.once('close', slot.release);
      try {
        const from = request.query.from_position ?? (await events.service.headPosition());
        starts.set(request, { from, slot });
      } catch (error) {
        slot.release();
        throw error;
      }
    },
    handler: async () => {
      throw new TesseraError(
        HttpErrors.bad_request,
        'This endpoint speaks WebSocket: send the request with Upgrade: websocket.',
      );
    },
    wsHandler: (socket, request) => {
      const start = starts.get(request);
      // Never a silent replay of the whole log: the preHandler always sets it.
      if (start === undefined) throw new Error('stream: start position missing');
      const subscription = hub.open({
        tenantId: request.tenantId,
        from: start.from,
        filter: logFilterOf(request.query),
        sink: createWsSink(socket),
        onClosed: start.slot.release,
      });
      const untrack = track(subscription);
      socket.once('close', () => {
        untrack();
        subscription.close('client_gone');
      });
    },
  });
};
