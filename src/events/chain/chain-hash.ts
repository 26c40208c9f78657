import { hash as digestOf } from 'node:crypto';
import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';

/** The previous hash of a partition's first event: 32 zero bytes, in hex. */
export const GENESIS_HASH = '0'.repeat(64);

/** A chain hash as stored and compared: SHA-256, 64 lowercase hex digits. */
const HASH_HEX = /^[0-9a-f]{64}$/;

export function isChainHash(text: string): boolean {
  return HASH_HEX.test(text);
}

/**
 * The event's chain hash: lowercase hex of SHA-256 over the 32 raw bytes of the
 * previous event's hash (GENESIS_HASH for a partition's first event) followed by the
 * UTF-8 bytes of the event's canonical form (canonical-event.ts).
 *
 * `previousHex` must be 64 lowercase hex digits; anything else throws rather than
 * being decoded leniently (Buffer.from(…, 'hex') would silently drop what it cannot
 * read, and a hash with two spellings would compare unequal to itself).
 */
export function chainHash(previousHex: string, event: StoredEvent): string {
  if (!HASH_HEX.test(previousHex)) {
    throw new TypeError('The previous hash must be 64 lowercase hex digits');
  }
  return linkHash(previousHex, canonicalEvent(event));
}

/** Reused by every call: hashing is synchronous, so no two calls can share it at once. */
let scratch = Buffer.alloc(16 * 1024);
/** Larger events get a buffer of their own rather than growing the shared one for good. */
const MAX_SCRATCH = 1024 * 1024;

/**
 * `chainHash` from an event's canonical form, for callers that hash a whole chain and
 * have checked its first `previousHex` already (isChainHash): every later one is a
 * hash this computed. Unchecked here, where it would cost a tenth of the call.
 *
 * The previous hash's 32 raw bytes and the canonical form's UTF-8 are written side by
 * side into one reused buffer and hashed in one call (`crypto.hash`), with no Hash
 * object or Buffer allocated per event: about half the cost of
 * createHash().update().update().digest(), most of which is call overhead.
 */
export function linkHash(previousHex: string, canonical: string): string {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 4 for 2).
  const needed = 32 + canonical.length * 3;
  let buffer = scratch;
  if (needed > buffer.length) {
    buffer = Buffer.allocUnsafe(needed);
    if (needed <= MAX_SCRATCH) scratch = buffer;
  }
  buffer.write(previousHex, 0, 32, 'hex');
  const length = 32 + buffer.write(canonical, 32, 'utf8');
  return digestOf('sha256', buffer.subarray(0, length), 'hex');
}
