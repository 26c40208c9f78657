import { type Static, Type } from 'typebox';
import { EntityId, EventType } from '../schemas.ts';
import type { LogFilter } from '../store.ts';

/** The query string of both subscription routes (SSE and WebSocket). */
export const SubscriptionQuery = Type.Object(
  {
    from_position: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description:
          'Deliver the events after this position; 0 replays the whole log. Default: the current head, i.e. only new events.',
      }),
    ),
    // The entity id's own rules, as a prefix.
    entity_id: Type.Optional({
      ...EntityId,
      description: 'Only entities whose id starts with this prefix.',
    }),
    event_type: Type.Optional(
      Type.Array(EventType, {
        minItems: 1,
        maxItems: 100,
        description: 'Only these event types (repeat the parameter for several).',
      }),
    ),
    ticket: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          'A subscription ticket (POST /subscriptions/tickets) instead of an Authorization header, for browsers. Works once.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type SubscriptionQuery = Static<typeof SubscriptionQuery>;

export function logFilterOf(query: SubscriptionQuery): LogFilter {
  return { entity_prefix: query.entity_id, event_types: query.event_type };
}
