import { createHash } from 'node:crypto';
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
  return createHash('sha256')
    .update(Buffer.from(previousHex, 'hex'))
    .update(canonicalEvent(event), 'utf8')
    .digest('hex');
}
