import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiscoveryCache } from './oidc-discovery-cache.ts';

describe('discovery cache', () => {
  it('is bounded: the oldest entry goes first', async () => {
    const cache = createDiscoveryCache<string>({ ttlMs: 60_000, maxEntries: 3, now: () => 0 });
    let loads = 0;
    const load = (value: string) => () => {
      loads += 1;
      return Promise.resolve(value);
    };
    for (const id of ['a', 'b', 'c', 'd']) await cache.get(id, ['x'], load(id));
    assert.equal(cache.size, 3);
    assert.equal(loads, 4);
    // b, c, d are kept; a was evicted and loads again (evicting b).
    assert.equal(await cache.get('d', ['x'], load('d2')), 'd');
    assert.equal(loads, 4);
    assert.equal(await cache.get('a', ['x'], load('a2')), 'a2');
    assert.equal(loads, 5);
    assert.equal(await cache.get('b', ['x'], load('b2')), 'b2');
    assert.equal(cache.size, 3);
  });

  it('keeps no failed discovery', async () => {
    const cache = createDiscoveryCache<string>({ ttlMs: 60_000, maxEntries: 3, now: () => 0 });
    await assert.rejects(
      cache.get('a', ['x'], () => Promise.reject(new Error('down'))),
      /down/,
    );
    assert.equal(cache.size, 0);
    assert.equal(await cache.get('a', ['x'], () => Promise.resolve('up')), 'up');
  });
});
