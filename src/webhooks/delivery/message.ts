import { createHash } from 'node:crypto';
import type { StoredEvent } from '../../events/model.ts';
import { signatureHeader } from '../signing/signing-secret.ts';

/** Which partition of the log an event comes from: the tenant's own, or its audit trail. */
export type EventSource = 'events' | 'platform';

/** Platform events' types are the audit action under this prefix: `tessera.user.created`. */
export const PLATFORM_TYPE_PREFIX = 'tessera.';

/** The type of the test ping (`POST /webhooks/{id}/test`). */
export const PING_TYPE = 'tessera.webhook.test';

/** One request body, ready to sign and send. */
export interface WebhookMessage {
  /** `webhook-id`: the same for an event and an endpoint every time, so receivers de-duplicate. */
  readonly id: string;
  readonly type: string;
  readonly source: EventSource | null;
  readonly event_id: string | null;
  readonly position: number | null;
  /** The JSON envelope: `{type, timestamp, data}`. */
  readonly body: string;
}

/** `msg_` and 27 base64url characters of SHA-256(endpoint id, event id): stable, and unguessable across endpoints. */
export function messageIdOf(endpointId: string, eventId: string): string {
  const digest = createHash('sha256').update(`${endpointId}\0${eventId}`).digest('base64url');
  return `msg_${digest.slice(0, 27)}`;
}

/**
 * The envelope of an event (docs/webhooks.md): an event-store event carries its type
 * and the event as the API reads it; a platform event the audit action (prefixed, so no
 * application event type can pass for one) and the audit record.
 */
export function messageOf(
  endpointId: string,
  event: StoredEvent,
  source: EventSource,
): WebhookMessage {
  const data =
    source === 'events'
      ? {
          id: event.id,
          entity_id: event.entity_id,
          event_type: event.event_type,
          version: event.version,
          position: event.position,
          timestamp: event.timestamp,
          payload: event.payload,
          metadata: event.metadata,
        }
      : { id: event.id, position: event.position, ...(event.payload as object) };
  const type =
    source === 'events' ? event.event_type : `${PLATFORM_TYPE_PREFIX}${event.event_type}`;
  return {
    id: messageIdOf(endpointId, event.id),
    type,
    source,
    event_id: event.id,
    position: event.position,
    body: JSON.stringify({ type, timestamp: event.timestamp, data }),
  };
}

/** A test ping: a fresh id each time (it is no event to de-duplicate). */
export function pingOf(endpointId: string, pingId: string, nowMs: number): WebhookMessage {
  const timestamp = new Date(nowMs).toISOString();
  return {
    id: `msg_ping_${pingId}`,
    type: PING_TYPE,
    source: null,
    event_id: null,
    position: null,
    body: JSON.stringify({ type: PING_TYPE, timestamp, data: { endpoint_id: endpointId } }),
  };
}

/** The Standard Webhooks headers of one send, signed with every live secret. */
export function headersOf(
  message: Pick<WebhookMessage, 'id' | 'body'>,
  secrets: readonly string[],
  nowMs: number,
): Record<string, string> {
  const sent = new Date(Math.floor(nowMs / 1000) * 1000);
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(sent.getTime() / 1000),
    'webhook-signature': signatureHeader(secrets, message.id, sent, message.body),
  };
}
