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
 * Throws on what has no canonical form: a missing field (the nine are required, so
 * that an absent payload can never hash like a stored `null`), NaN or an infinite
 * number, a string with a lone surrogate, a cycle. None of these can be stored: the
 * door refuses lone surrogates, and parsed JSON holds no cycle or non-finite number.
 */
export function canonicalEvent(event: StoredEvent): string {
  const chained = {
    id: event.id,
    tenant_id: event.tenant_id,
    entity_id: event.entity_id,
    event_type: event.event_type,
    version: event.version,
    position: event.position,
    timestamp: event.timestamp,
    payload: event.payload,
    metadata: event.metadata,
  } satisfies Record<(typeof CHAINED_FIELDS)[number], unknown>;
  for (const field of CHAINED_FIELDS) {
    if (chained[field] === undefined) {
      throw new TypeError(`The event has no ${field}: it cannot be chained`);
    }
  }
  const text = canonicalize(chained);
  // An object always serializes; the library's type allows undefined for other inputs.
  if (text === undefined) throw new TypeError('The event has no canonical form');
  return text;
}
