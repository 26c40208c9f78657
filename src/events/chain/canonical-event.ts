import canonicalize from 'canonicalize';
import type { StoredEvent } from '../model.ts';

/**
 * The fields of an event the ledger chains, and nothing else: an event object may
 * carry more (a stored hash, a row's internals), and those never enter its hash.
 * These are the fields `GET` returns for an event, so a reader can recompute the hash
 * from what the API gives it.
 */
export const CHAINED_FIELDS = [
  'id',
  'tenant_id',
  'entity_id',
  'event_type',
  'version',
  'position',
  'timestamp',
  'payload',
  'metadata',
] as const satisfies readonly (keyof StoredEvent)[];

/**
 * The event's canonical form: RFC 8785 (JSON Canonicalization Scheme) of an object
 * holding exactly CHAINED_FIELDS. Keys are sorted by UTF-16 code units at every
 * depth, numbers are written as ECMAScript writes them (1.0 → 1, -0 → 0, 1e21),
 * strings are escaped minimally, and there is no whitespace.
 *
 * The `canonicalize` library does the work (written by an author of the RFC). From
 * version 5 it walks values with an explicit stack instead of recursing, so depth is
 * bounded by memory, not by the call stack: the deepest payload the HTTP door accepts
 * (`server.max_json_depth`, at most 1000 levels) and even the deeper ones stored
 * before that door existed canonicalize without a stack overflow (the tests hold a
 * payload 100,000 levels deep). Version 4 recursed; keep the dependency at ^5.
 *
 * The library canonicalizes the payload and the metadata. The seven members around
 * them always have the same names, in the same (sorted) order, and hold strings and
 * integers, so they are written around those two texts here instead of being sorted
 * and walked again for every event (that took a third of the time per event). Each
 * value is written as the library writes it (JSON.stringify, after the same checks),
 * and a test holds the result equal to the library's on the whole object for every
 * kind of value; an event whose members hold anything else goes to the library whole.
 *
 * Throws on what has no canonical form: a missing field (the nine are required, so
 * that an absent payload can never hash like a stored `null`), NaN or an infinite
 * number, a string with a lone surrogate, a cycle. None of these can be stored: the
 * door refuses lone surrogates, and parsed JSON holds no cycle or non-finite number.
 */
export function canonicalEvent(event: StoredEvent): string {
  for (const field of CHAINED_FIELDS) {
    if (event[field] === undefined) {
      throw new TypeError(`The event has no ${field}: it cannot be chained`);
    }
  }
  const { id, tenant_id, entity_id, event_type, version, position, timestamp } = event;
  const payload = canonicalize(event.payload);
  const metadata = isEmptyObject(event.metadata) ? '{}' : canonicalize(event.metadata);
  if (
    payload === undefined ||
    metadata === undefined ||
    typeof id !== 'string' ||
    typeof tenant_id !== 'string' ||
    typeof entity_id !== 'string' ||
    typeof event_type !== 'string' ||
    typeof timestamp !== 'string' ||
    !isFiniteNumber(version) ||
    !isFiniteNumber(position)
  ) {
    return canonicalWhole(event);
  }
  return `{"entity_id":${text(entity_id)},"event_type":${text(event_type)},"id":${text(id)},"metadata":${metadata},"payload":${payload},"position":${JSON.stringify(position)},"tenant_id":${text(tenant_id)},"timestamp":${text(timestamp)},"version":${JSON.stringify(version)}}`;
}

// Checked one by one: rest arguments and every() cost a sixth of the envelope's time.
const isFiniteNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

/**
 * Most events carry no metadata: `{}`, which the library writes as `{}` after setting
 * up its walk (a tenth of a microsecond an event). Only a plain object with no own
 * keys and no toJSON qualifies, so the answer is the library's.
 */
function isEmptyObject(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Reflect.ownKeys(value).length === 0 &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}

/** A string member's value, as the library writes it: a lone surrogate has no canonical form. */
function text(value: string): string {
  if (!value.isWellFormed()) throw new TypeError('Lone surrogate is not allowed');
  return JSON.stringify(value);
}

/** The library on the whole object: for members of unexpected types, whatever it makes of them. */
function canonicalWhole(event: StoredEvent): string {
  const chained = Object.fromEntries(CHAINED_FIELDS.map((field) => [field, event[field]]));
  const whole = canonicalize(chained);
  // An object always serializes; the library's type allows undefined for other inputs.
  if (whole === undefined) throw new TypeError('The event has no canonical form');
  return whole;
}
