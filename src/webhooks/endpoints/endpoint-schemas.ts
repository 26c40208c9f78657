import { Type } from 'typebox';
import type { WebhookAttempt } from '../delivery/attempt-store.ts';
import type { WebhookEndpoint } from './endpoint-record.ts';
import { MAX_URL_LENGTH } from './endpoint-url.ts';
import { MAX_PATTERNS, PATTERN } from './filters.ts';

// The shapes of /webhooks. What ties fields together (something to receive, a URL
// delivery may use, permissions for what the filters reach) is the service's.

const Patterns = (description: string) =>
  Type.Array(Type.String({ pattern: PATTERN }), { maxItems: MAX_PATTERNS, description });

const fields = {
  url: Type.String({
    minLength: 1,
    maxLength: MAX_URL_LENGTH,
    description:
      'Where deliveries are POSTed: https (http only where webhooks.allow_insecure_urls is set).',
  }),
  description: Type.String({ maxLength: 500 }),
  enabled: Type.Boolean({
    description: 'Default true. Re-enabling starts the held event’s retries afresh.',
  }),
  event_types: Patterns(
    'Event types to receive, `*` matching any run of characters (`order.*`; `*` for all). Empty: no event-store events. Needs events:read.',
  ),
  entity_prefix: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
    description: 'Only events of entities whose id starts with this.',
  }),
  platform_events: Patterns(
    'Audit actions to receive (`user.*`, `session.revoked`; `*` for all), as `tessera.<action>`. Needs audit:read.',
  ),
};

export const EndpointBody = Type.Object(
  {
    url: fields.url,
    description: Type.Optional(fields.description),
    enabled: Type.Optional(fields.enabled),
    event_types: Type.Optional(fields.event_types),
    entity_prefix: Type.Optional(fields.entity_prefix),
    platform_events: Type.Optional(fields.platform_events),
  },
  { additionalProperties: false },
);

export const EndpointChangesBody = Type.Partial(EndpointBody, {
  additionalProperties: false,
  minProperties: 1,
});

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const Endpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union(
    [Type.Literal('manual'), Type.Literal('gone'), Type.Literal('failing'), Type.Null()],
    {
      description:
        'manual: by an admin; gone: the receiver answered 410; failing: every retry failed.',
    },
  ),
  event_types: Type.Array(Type.String()),
  entity_prefix: Type.Union([Type.String(), Type.Null()]),
  platform_events: Type.Array(Type.String()),
  cursor_position: Type.Integer({
    description: 'Every log position up to this was delivered or did not match.',
  }),
  failing: Type.Union(
    [
      Type.Object({
        attempts: Type.Integer(),
        since: Type.String({ format: 'date-time' }),
        next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'Null once the endpoint was disabled for it.',
        }),
      }),
      Type.Null(),
    ],
    { description: 'The event held at the head while its receiver fails; null when none is.' },
  ),
  last_delivered_at: Time,
  previous_secret_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'After a rotation, until when the old secret still signs.',
  }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const EndpointWithSecret = Type.Intersect([
  Endpoint,
  Type.Object({
    secret: Type.String({ description: 'The signing secret (whsec_...): shown this once.' }),
  }),
]);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toEndpointJson(endpoint: WebhookEndpoint, nowMs = Date.now()) {
  const graceUntil = endpoint.previous_secret_until_ms;
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    enabled: endpoint.enabled,
    disabled_reason: endpoint.disabled_reason,
    event_types: [...endpoint.filters.event_types],
    entity_prefix: endpoint.filters.entity_prefix,
    platform_events: [...endpoint.filters.platform_events],
    cursor_position: endpoint.cursor_position,
    failing:
      endpoint.failing_since_ms === null
        ? null
        : {
            attempts: endpoint.attempts,
            since: new Date(endpoint.failing_since_ms).toISOString(),
            next_attempt_at: endpoint.enabled ? iso(endpoint.next_attempt_ms) : null,
          },
    last_delivered_at: iso(endpoint.last_delivered_ms),
    previous_secret_expires_at: graceUntil !== null && graceUntil > nowMs ? iso(graceUntil) : null,
    created_at: new Date(endpoint.created_ms).toISOString(),
    updated_at: new Date(endpoint.updated_ms).toISOString(),
  };
}

export const Attempt = Type.Object({
  id: Type.String({
    description: 'The delivery attempt; POST .../deliveries/{id}/retry sends its message again.',
  }),
  message_id: Type.String({ description: 'The webhook-id header sent.' }),
  type: Type.String(),
  source: Type.Union([Type.Literal('events'), Type.Literal('platform'), Type.Null()]),
  event_id: Type.Union([Type.String(), Type.Null()]),
  position: Type.Union([Type.Integer(), Type.Null()]),
  trigger: Type.Union([Type.Literal('scheduled'), Type.Literal('retry'), Type.Literal('ping')]),
  attempt: Type.Integer({ description: 'The how-manieth attempt of this message.' }),
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('failed')]),
  status: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The HTTP status; null when none came.',
  }),
  latency_ms: Type.Integer(),
  response: Type.Union([Type.String(), Type.Null()], {
    description: 'The first bytes of the answer (webhooks.max_response_bytes).',
  }),
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

export function toAttemptJson(attempt: WebhookAttempt) {
  return {
    id: attempt.id,
    message_id: attempt.message_id,
    type: attempt.type,
    source: attempt.source,
    event_id: attempt.event_id,
    position: attempt.position === null ? null : Number(attempt.position),
    trigger: attempt.trigger,
    attempt: attempt.attempt,
    outcome: attempt.outcome,
    status: attempt.status,
    latency_ms: attempt.latency_ms,
    response: attempt.response,
    error: attempt.error,
    created_at: new Date(Number(attempt.created_ms)).toISOString(),
  };
}
