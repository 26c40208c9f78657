import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Principal } from '../../access/principal.ts';
import type { EventRoutesOptions } from '../event-routes.ts';
import { trackForShutdown } from '../subscriptions/shutdown-tracker.ts';
import { createSseSink } from '../subscriptions/sse-sink.ts';
import { logFilterOf, SubscriptionQuery } from '../subscriptions/subscription-query.ts';
import { checkTicketOrigin } from '../subscriptions/tickets/ticket-origin.ts';

const ResumeHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'Resume after this position; a reconnecting EventSource sends the last `id` it saw. Wins over from_position.',
    }),
  ),
});

const DESCRIPTION = `Server-Sent Events: the tenant's events after \`from_position\`, then new ones as they commit, in position order.
Frames: \`id: <position>\`, \`event: event\`, \`data: <event JSON>\`; \`: heartbeat\` comments while idle.
When the server ends the stream it sends \`event: error\` with \`{"code", "last_position"}\` first
(\`subscriber_too_slow\`, \`service_unavailable\`, \`internal_error\`); resume after \`last_position\`.
Open subscriptions are capped per tenant (by plan) and per credential: beyond, 429 \`subscription_limit_reached\` with \`Retry-After\`.`;

/** `GET /events/subscribe`: live subscription over Server-Sent Events. */
export const subscribeRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events, subscriptionLimits, corsOrigins },
) => {
  const hub = events.subscriptions;
  const track = trackForShutdown(app);

  app.get(
    '/events/subscribe',
    {
      config: { access: 'events:read', subscriptionTicket: true },
      // A HEAD would open a subscription that can never send anything.
      exposeHeadRoute: false,
      schema: {
        summary: 'Subscribe to events (Server-Sent Events)',
        description: DESCRIPTION,
        tags: ['events'],
        querystring: SubscriptionQuery,
        headers: ResumeHeaders,
        response: {
          200: {
            description: 'An endless text/event-stream.',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
        },
      },
    },
    async (request, reply) => {
      checkTicketOrigin(request, corsOrigins);
      // Refused with a plain 429 while the response is still ours to answer.
      const slot = await subscriptionLimits.reserve(request.principal as Principal);
      let from: number;
      try {
        from =
          request.headers['last-event-id'] ??
          request.query.from_position ??
          // Read before the headers go out: whatever commits after the client sees
          // the 200 is delivered.
          (await events.service.headPosition());
      } catch (error) {
        slot.release();
        throw error;
      }
      // Written by hand, past Fastify's onSend hooks: compression would buffer the stream.
      reply.hijack();
      const response = reply.raw;
      // The client may have left while the head was read: its 'close' has passed.
      if (!response.socket || response.socket.destroyed) {
        slot.release();
        return;
      }
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) response.setHeader(name, value);
      }
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      response.flushHeaders();
      const subscription = hub.open({
        tenantId: request.tenantId,
        from,
        filter: logFilterOf(request.query),
        sink: createSseSink(response),
        onClosed: slot.release,
      });
      const untrack = track(subscription);
      const leave = () => {
        untrack();
        subscription.close('client_gone');
      };
      response.once('close', leave);
      response.once('error', leave);
    },
  );
};
