import { Type } from 'typebox';

/**
 * Wire schemas shared by the event routes: validation and OpenAPI come from here.
 * `entity_id`: 1-256 characters, no control characters, no leading or trailing space.
 */
export const EntityId = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^(?! )[^\\u0000-\\u001f\\u007f]*(?<! )$',
  description: 'The stream: 1-256 characters, no control characters, no leading or trailing space.',
});

export const EventType = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9._:-]+$',
  description: '1-128 characters of A-Z a-z 0-9 . _ : -',
});

export const EventId = Type.String({
  pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$',
  description: 'A UUID.',
});

export const ExpectedVersion = Type.Union(
  [
    Type.Integer({ minimum: 0 }),
    Type.Literal('any'),
    Type.Literal('no_stream'),
    Type.Literal('stream_exists'),
  ],
  { description: 'A version number, "any" (default), "no_stream" or "stream_exists".' },
);

export const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Free-form JSON object: correlation_id, causation_id, actor, ...',
});

export const NewEventBody = Type.Object(
  {
    id: Type.Optional(EventId),
    event_type: EventType,
    payload: Type.Unknown({ description: 'Any JSON value.' }),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'RFC 3339 with milliseconds, UTC.',
});

export const StoredEventSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  tenant_id: Type.String(),
  entity_id: Type.String(),
  event_type: Type.String(),
  version: Type.Integer({ minimum: 0 }),
  position: Type.Integer({ minimum: 1 }),
  timestamp: Timestamp,
  payload: Type.Unknown(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

export const AppendedEventSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  entity_id: Type.String(),
  version: Type.Integer({ minimum: 0 }),
  position: Type.Integer({ minimum: 1 }),
});

export const Limit = (fallback: number, maximum: number) =>
  Type.Integer({
    minimum: 1,
    maximum,
    default: fallback,
    description: `1-${maximum}, default ${fallback}.`,
  });
