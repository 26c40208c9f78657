import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { chainHash, GENESIS_HASH, isChainHash } from './chain-hash.ts';

const first: StoredEvent = {
  id: '0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f35',
  tenant_id: 'acme',
  entity_id: 'customer-9',
  event_type: 'customer.renamed',
  version: 3,
  position: 41,
  timestamp: '2026-12-06T10:00:00.000Z',
  payload: { name: 'Zoë 😀', credit: 1.0, tags: [] },
  metadata: { by: 'api' },
};

/** Written out by hand from RFC 8785, not computed. */
const FIRST_CANONICAL =
  '{"entity_id":"customer-9","event_type":"customer.renamed","id":"0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f35","metadata":{"by":"api"},"payload":{"credit":1,"name":"Zoë 😀","tags":[]},"position":41,"tenant_id":"acme","timestamp":"2026-12-06T10:00:00.000Z","version":3}';

const second: StoredEvent = {
  ...first,
  id: '0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f36',
  event_type: 'customer.closed',
  version: 4,
  position: 44,
  timestamp: '2026-12-06T10:00:01.250Z',
  payload: null,
  metadata: {},
};

const SECOND_CANONICAL =
  '{"entity_id":"customer-9","event_type":"customer.closed","id":"0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f36","metadata":{},"payload":null,"position":44,"tenant_id":"acme","timestamp":"2026-12-06T10:00:01.250Z","version":4}';

/** SHA-256 over the previous hash's 32 bytes and the text's UTF-8 bytes, assembled apart. */
function expectedHash(previousHex: string, canonical: string): string {
  const bytes = Buffer.concat([Buffer.from(previousHex, 'hex'), Buffer.from(canonical, 'utf8')]);
  assert.equal(bytes.length, 32 + Buffer.byteLength(canonical));
  return createHash('sha256').update(bytes).digest('hex');
}

describe('chainHash', () => {
  it('starts from 32 zero bytes', () => {
    assert.equal(GENESIS_HASH, '0000000000000000000000000000000000000000000000000000000000000000');
  });

  it('hashes the previous hash and the canonical form (known answers)', () => {
    assert.equal(canonicalEvent(first), FIRST_CANONICAL);
    assert.equal(canonicalEvent(second), SECOND_CANONICAL);
    const firstHash = chainHash(GENESIS_HASH, first);
    assert.equal(firstHash, expectedHash(GENESIS_HASH, FIRST_CANONICAL));
    assert.equal(chainHash(firstHash, second), expectedHash(firstHash, SECOND_CANONICAL));
    assert.match(firstHash, /^[0-9a-f]{64}$/);
  });

  it('depends on the previous hash, byte by byte', () => {
    const previous = `${'0'.repeat(63)}1`;
    assert.notEqual(chainHash(previous, first), chainHash(GENESIS_HASH, first));
    assert.equal(chainHash(previous, first), expectedHash(previous, FIRST_CANONICAL));
  });

  it('refuses a previous hash that is not 64 lowercase hex digits', () => {
    for (const previous of [
      '',
      '0'.repeat(62),
      '0'.repeat(65),
      'A'.repeat(64),
      `${'0'.repeat(63)}g`,
    ]) {
      assert.throws(() => chainHash(previous, first), TypeError, JSON.stringify(previous));
      assert.equal(isChainHash(previous), false);
    }
    assert.equal(isChainHash('0123456789abcdef'.repeat(4)), true);
  });
});
