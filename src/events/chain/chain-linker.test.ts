import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredEvent } from '../model.ts';
import { chainHash, GENESIS_HASH } from './chain-hash.ts';
import { createChainLinker } from './chain-linker.ts';
import { verifyChain } from './verify-chain.ts';

const event = (
  tenant_id: string,
  position: number,
  payload: unknown = { n: position },
): StoredEvent => ({
  id: `7e55e7a0-0000-8000-8000-${position.toString(16).padStart(12, '0')}`,
  tenant_id,
  entity_id: 'e',
  event_type: 'Happened',
  version: position - 1,
  position,
  timestamp: '2026-12-06T10:00:00.000Z',
  payload,
  metadata: {},
});

describe('createChainLinker', () => {
  it('gives chainHash’s hashes, each partition chained on its own from GENESIS_HASH', () => {
    const linker = createChainLinker(new Map());
    const events = [event('a', 1), event('b', 2), event('a', 3), event('a', 4), event('b', 5)];
    const hashes = events.map((e) => linker.link(e));
    const a1 = chainHash(GENESIS_HASH, events[0] as StoredEvent);
    const b2 = chainHash(GENESIS_HASH, events[1] as StoredEvent);
    const a3 = chainHash(a1, events[2] as StoredEvent);
    const a4 = chainHash(a3, events[3] as StoredEvent);
    const b5 = chainHash(b2, events[4] as StoredEvent);
    assert.deepEqual(hashes, [a1, b2, a3, a4, b5]);
    assert.deepEqual(linker.changes(), [
      { partition: 'a', position: 4, hash: a4, chained: 3 },
      { partition: 'b', position: 5, hash: b5, chained: 2 },
    ]);
  });

  it('continues from a stored head, and what it links verifies after it', () => {
    const head = { position: 9, hash: chainHash(GENESIS_HASH, event('a', 9)) };
    const linker = createChainLinker(new Map([['a', head]]));
    const events = [event('a', 10), event('a', 11, 'text'), event('a', 12, null)];
    const hashed = events.map((e) => ({ ...e, hash: linker.link(e) }));
    assert.deepEqual(verifyChain({ partition: 'a', after: head.hash, afterPosition: 9 }, hashed), {
      ok: true,
      checked: 3,
      first_broken: null,
    });
    assert.deepEqual(linker.changes(), [
      { partition: 'a', position: 12, hash: hashed[2]?.hash, chained: 3 },
    ]);
  });

  it('hashes events larger than its reused buffer, and multi-byte text, as chainHash does', () => {
    const linker = createChainLinker(new Map());
    const big = event('a', 1, { text: 'é😀'.repeat(300_000) });
    const small = event('a', 2, { text: 'after the big one' });
    const first = linker.link(big);
    assert.equal(first, chainHash(GENESIS_HASH, big));
    assert.equal(linker.link(small), chainHash(first, small));
  });

  it('names nothing and writes nothing for a commit that links no event', () => {
    assert.deepEqual(createChainLinker(new Map()).changes(), []);
  });

  it('refuses to chain onto a damaged head, or an event with no canonical form', () => {
    const damaged = createChainLinker(new Map([['a', { position: 1, hash: 'F'.repeat(64) }]]));
    assert.throws(() => damaged.link(event('a', 2)), /ledger_heads of a/);
    const linker = createChainLinker(new Map());
    assert.throws(() => linker.link(event('a', 1, { n: Number.POSITIVE_INFINITY })));
    assert.throws(() => linker.link(event('a', 1, { s: '\ud800' })));
  });
});
