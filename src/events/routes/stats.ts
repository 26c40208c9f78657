import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EventRoutesOptions } from '../event-routes.ts';

const Stats = Type.Object({
  events: Type.Integer(),
  entities: Type.Integer(),
  event_types: Type.Integer(),
  bytes: Type.Integer({ description: 'JSON bytes of stored payloads and metadata.' }),
});

export const statsRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events },
) => {
  app.get(
    '/stats',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['events'],
        summary: "The tenant's event store totals",
        response: { 200: Stats },
      },
    },
    (request) => events.service.stats(request.tenantId),
  );
};
