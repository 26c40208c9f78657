import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../../access/principal.ts';
import type { TicketCredential } from '../../../access/ticket-grant.ts';
import { digestSecret } from '../../../platform/secrets.ts';
import type { TicketService } from './ticket-service.ts';

export interface TicketRoutesOptions {
  readonly tickets: TicketService;
}

const Ticket = Type.Object({
  ticket: Type.String({
    description:
      'Pass as `?ticket=` to GET /events/subscribe (EventSource) or /events/stream (WebSocket). Works once.',
  }),
  expires_in: Type.Integer({ description: 'Seconds until the ticket expires (at most 60).' }),
});

const DESCRIPTION = `A browser's \`EventSource\` and \`WebSocket\` cannot send an \`Authorization\` header. Exchange
your credential for a ticket here, then open the subscription with \`?ticket=<ticket>\`. A ticket is
single-use, expires within \`subscriptions.ticket_ttl_seconds\` (at most 60 s), and stands for the
credential that asked for it: when used, that credential is checked again (a session logged out or a
key revoked since refuses it) and must still hold \`events:read\`.`;

/** The presented credential, as the guard authenticated it (the API key by its digest). */
function credentialOf(request: FastifyRequest, principal: Principal): TicketCredential {
  if (principal.kind === 'user') {
    return {
      kind: 'session',
      sessionId: principal.sessionId as string,
      userId: principal.userId as string,
    };
  }
  const header = request.headers['x-api-key'];
  const secret =
    typeof header === 'string' && header !== ''
      ? header
      : (/^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '');
  return { kind: 'api_key', digest: digestSecret(secret) };
}

/** `POST /subscriptions/tickets`: a short-lived, single-use credential for browser subscriptions. */
export const ticketRoutes: FastifyPluginAsyncTypebox<TicketRoutesOptions> = async (
  app,
  { tickets },
) => {
  app.post(
    '/subscriptions/tickets',
    {
      config: { access: 'events:read' },
      schema: {
        summary: 'Get a subscription ticket (for EventSource and WebSocket in browsers)',
        description: DESCRIPTION,
        tags: ['events'],
        response: { 201: Ticket },
      },
    },
    async (request, reply) => {
      const principal = request.principal as Principal;
      const issued = await tickets.issue({
        tenantId: principal.tenantId,
        credential: credentialOf(request, principal),
      });
      // A credential: no cache may keep it (RFC 9111 §5.2.2.5).
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(issued);
    },
  );
};
