import type { Config } from '../config/schema.ts';
import { type FieldError, TesseraError } from '../platform/errors.ts';
import { validationFailed } from '../platform/validation-failed.ts';
import { EventErrors } from './errors.ts';
import { isReservedEventId } from './event-id.ts';
import { findUnstorableText } from './json-text.ts';
import type { NewEvent } from './model.ts';

type Limits = Pick<Config['storage'], 'max_event_bytes' | 'max_batch_events'>;

/**
 * Checks what the route schema cannot: batch size, per-event size and reserved ids.
 * `pathOf(i)` names the event's place in the request body for error paths.
 * Returns the events with client ids in canonical lower case.
 */
export function normalizeEvents(
  events: readonly NewEvent[],
  limits: Limits,
  pathOf: (index: number) => string,
): NewEvent[] {
  if (events.length > limits.max_batch_events) {
    throw new TesseraError(
      EventErrors.batch_too_large,
      `The request carries ${events.length} events; at most ${limits.max_batch_events} are accepted per append.`,
      { extensions: { limit: limits.max_batch_events } },
    );
  }
  const invalid: FieldError[] = [];
  const normalized = events.map((event, index) => {
    const payload = JSON.stringify(event.payload) ?? 'null';
    const metadata = event.metadata ? JSON.stringify(event.metadata) : '';
    const bytes = Buffer.byteLength(payload) + Buffer.byteLength(metadata);
    if (bytes > limits.max_event_bytes) {
      throw new TesseraError(
        EventErrors.event_too_large,
        `Event ${pathOf(index)} has ${bytes} bytes of payload and metadata; the limit is ${limits.max_event_bytes}.`,
        { extensions: { index, limit_bytes: limits.max_event_bytes } },
      );
    }
    for (const [field, value, text] of [
      ['payload', event.payload, payload],
      ['metadata', event.metadata, metadata],
    ] as const) {
      const found = findUnstorableText(value, text, `${pathOf(index)}/${field}`);
      if (found !== undefined) invalid.push({ path: found, message: UNSTORABLE_MESSAGE });
    }
    if (event.id === undefined) return event;
    if (isReservedEventId(event.id)) {
      invalid.push({ path: `${pathOf(index)}/id`, message: RESERVED_MESSAGE });
    }
    return { ...event, id: event.id.toLowerCase() };
  });
  if (invalid.length > 0) throw validationFailed(invalid);
  return normalized;
}

const UNSTORABLE_MESSAGE = 'must not contain the NUL character or a lone UTF-16 surrogate';
const RESERVED_MESSAGE =
  'ids starting 7e55e7a0-0000-8000-80 are reserved for ids Tessera generates';
