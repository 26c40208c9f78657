import type { StoredEvent } from '../model.ts';

/**
 * Why the server ends a subscription, with the position the client resumes after
 * (`from_position` or `Last-Event-ID`): every matching event up to it was written.
 */
export type EndReason =
  | { readonly kind: 'client_gone' }
  | { readonly kind: 'too_slow'; readonly lastPosition: number }
  | { readonly kind: 'shutdown'; readonly lastPosition: number }
  | { readonly kind: 'failed'; readonly lastPosition: number };

/** The stable code a client sees for each server-side end (SSE `event: error`, WebSocket close reason). */
export const END_CODES = {
  too_slow: 'subscriber_too_slow',
  shutdown: 'service_unavailable',
  failed: 'internal_error',
} as const;

/** A transport (SSE response, WebSocket) as a subscription writes to it. */
export interface SubscriberSink {
  /** Writes one event. False when the transport is backpressured (the event is still sent). */
  send(event: StoredEvent): boolean;
  heartbeat(): void;
  /** Calls `listener` once, when the transport accepts writes again after `send` returned false. */
  onDrain(listener: () => void): void;
  /** Ends the transport; for a server-side reason, tells the client why first. */
  end(reason: EndReason): void;
}

/**
 * How long an ended transport may take to flush what it holds before it is cut.
 * At shutdown briefly, so `app.close()` never waits on a client; otherwise long
 * enough for a slow client to read its backlog and the reason.
 */
export function endGraceMs(reason: EndReason): number {
  return reason.kind === 'shutdown' ? 2000 : 30_000;
}
