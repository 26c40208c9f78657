import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EventRoutesOptions } from '../event-routes.ts';
import { EntityId, EventType, Limit, StoredEventSchema, Timestamp } from '../schemas.ts';
import { timeParam } from './time-param.ts';

const QueryString = Type.Object(
  {
    entity_id: Type.Optional(EntityId),
    event_type: Type.Optional(
      Type.Array(EventType, {
        maxItems: 100,
        description: 'Repeatable: events of any of these types.',
      }),
    ),
    since: Type.Optional({ ...Timestamp, description: 'Events at or after this time (RFC 3339).' }),
    until: Type.Optional({ ...Timestamp, description: 'Events before this time (RFC 3339).' }),
    as_of: Type.Optional({
      ...Timestamp,
      description: 'Time travel: the log as it stood at this time (inclusive).',
    }),
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Position cursor: the `next_cursor` of the previous page.',
      }),
    ),
    limit: Limit(100, 10_000),
    order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
  },
  { additionalProperties: false },
);

const QueryResult = Type.Object({
  events: Type.Array(StoredEventSchema),
  count: Type.Integer(),
  next_cursor: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'Pass as `after` for the next page; null at the end. A page holds fewer than `limit` events when their JSON reached `storage.max_read_page_bytes` (never fewer than one): follow the cursor.',
  }),
});

export const queryRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events },
) => {
  app.get(
    '/events/query',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['events'],
        summary: 'Query events by entity, types and time, in position order',
        querystring: QueryString,
        response: { 200: QueryResult },
      },
    },
    async (request) => {
      const q = request.query;
      const since_ms = timeParam(q.since, 'since');
      const until = timeParam(q.until, 'until');
      const asOf = timeParam(q.as_of, 'as_of');
      // as_of is inclusive: the log as it stood at that instant.
      const until_ms =
        asOf === undefined ? until : Math.min(until ?? Number.POSITIVE_INFINITY, asOf + 1);
      const page = await events.service.queryPage(request.tenantId, {
        entity_id: q.entity_id,
        event_types: q.event_type,
        since_ms,
        until_ms,
        after_position: q.after,
        order: q.order,
        limit: q.limit,
      });
      const last = page.events.at(-1);
      return {
        events: page.events,
        count: page.events.length,
        next_cursor: last && page.full ? last.position : null,
      };
    },
  );
};
