import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { nextCursor } from '../../http/pagination.ts';
import type { EventRoutesOptions } from '../event-routes.ts';
import { EntityId, EventId, Limit, StoredEventSchema, Timestamp } from '../schemas.ts';

const StreamQuery = Type.Object(
  {
    from_version: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Forward: first version returned (default 0). Backward: highest (default: the last).',
      }),
    ),
    direction: Type.Union([Type.Literal('forward'), Type.Literal('backward')], {
      default: 'forward',
    }),
    limit: Limit(100, 10_000),
  },
  { additionalProperties: false },
);

const StreamPage = Type.Object({
  entity_id: Type.String(),
  events: Type.Array(StoredEventSchema),
  next_cursor: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'The `from_version` of the next page in the same direction; null when this page is the last. A page holds fewer than `limit` events when their JSON reached `storage.max_read_page_bytes` (never fewer than one): follow the cursor.',
  }),
});

const EntitiesQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    after: Type.Optional(EntityId),
    limit: Limit(100, 1000),
  },
  { additionalProperties: false },
);

const EntitiesPage = Type.Object({
  entities: Type.Array(
    Type.Object({ entity_id: Type.String(), version: Type.Integer(), last_timestamp: Timestamp }),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `after` for the next page; null at the end.',
  }),
});

export const readRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events },
) => {
  app.get(
    '/entities/:entity_id/events',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['events'],
        summary: "Read one entity's events by version",
        params: Type.Object({ entity_id: EntityId }),
        querystring: StreamQuery,
        response: { 200: StreamPage },
      },
    },
    async (request) => {
      const { entity_id } = request.params;
      const { from_version, direction, limit } = request.query;
      const page = await events.service.readStreamPage(request.tenantId, entity_id, {
        from_version,
        direction,
        limit,
      });
      const last = page.events.at(-1);
      const next = last && page.full ? last.version + (direction === 'forward' ? 1 : -1) : null;
      return {
        entity_id,
        events: page.events,
        next_cursor: next !== null && next >= 0 ? next : null,
      };
    },
  );

  app.get(
    '/events/:id',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['events'],
        summary: 'Get one event by id',
        params: Type.Object({ id: EventId }),
        response: { 200: StoredEventSchema },
      },
    },
    (request) => events.service.getEvent(request.tenantId, request.params.id),
  );

  app.get(
    '/entities',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['events'],
        summary: 'List entities by id, with their current version',
        querystring: EntitiesQuery,
        response: { 200: EntitiesPage },
      },
    },
    async (request) => {
      const { prefix, after, limit } = request.query;
      const entities = await events.service.listEntities(request.tenantId, {
        prefix,
        after,
        limit,
      });
      return { entities, next_cursor: nextCursor(entities, limit, (e) => e.entity_id) };
    },
  );
};
