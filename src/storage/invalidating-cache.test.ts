import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Change, EVERYTHING } from './change-feed.ts';
import { createInvalidatingCache, type InvalidatingCacheOptions } from './invalidating-cache.ts';
import { createPolledChangeFeed } from './polled-change-feed.ts';

/**
 * A cache of strings on a clock the test moves, following topic `things` of a feed
 * whose data version moves when the test says another process wrote.
 */
async function cacheWith(options: Partial<InvalidatingCacheOptions<string>> = {}) {
  let clock = 1_000;
  const outside = { writes: 0 };
  const changes = createPolledChangeFeed(() => outside.writes);
  const hearing = await changes.start();
  const heard: Change[] = [];
  const cache = createInvalidatingCache<string>({
    ttlMs: 1_000,
    now: () => clock,
    changes,
    topic: 'things',
    onChange: (change) => heard.push(change),
    ...options,
  });
  const reads: string[] = [];
  /** Through the cache; the read finds `value` (null: nothing). */
  const get = (key: string, value: string | null = `${key}-value`) =>
    cache.through(key, async () => {
      reads.push(key);
      return value ?? undefined;
    });
  return {
    cache,
    changes,
    hearing,
    outside,
    heard,
    reads,
    get,
    advance: (ms: number) => (clock += ms),
  };
}

describe('invalidating cache', () => {
  it('keeps what it read until the TTL, and never keeps an unknown thing', async () => {
    const c = await cacheWith();
    assert.equal(await c.get('a'), 'a-value');
    assert.equal(await c.get('a', 'changed'), 'a-value');
    assert.equal(c.cache.peek('a'), 'a-value', 'synchronously');
    c.advance(1_000);
    assert.equal(c.cache.peek('a'), undefined);
    assert.equal(await c.get('a', 'changed'), 'changed');
    assert.equal(await c.get('nothing', null), undefined);
    assert.equal(await c.get('nothing', null), undefined);
    assert.deepEqual(c.reads, ['a', 'a', 'nothing', 'nothing']);
  });

  it('invalidates one key, those a test picks, or everything', async () => {
    const c = await cacheWith();
    for (const key of ['a', 'b', 'c', 'd']) await c.get(key);
    c.cache.invalidate('a');
    assert.equal(c.cache.peek('a'), undefined);
    c.cache.invalidate((value, key) => key === 'b' || value === 'c-value');
    assert.deepEqual(
      ['b', 'c', 'd'].map((key) => c.cache.peek(key)),
      [undefined, undefined, 'd-value'],
    );
    c.cache.invalidate(undefined);
    assert.equal(c.cache.size, 0);
  });

  it('does not keep what was read while something was invalidated: it may predate it', async () => {
    const c = await cacheWith();
    let finish: (value: string) => void = () => {};
    const slow = c.cache.load('a', () => new Promise<string>((resolve) => (finish = resolve)));
    c.cache.invalidate('unrelated');
    finish('stale');
    assert.equal(await slow, 'stale', 'the answer is returned');
    assert.equal(c.cache.size, 0, 'but not kept');
  });

  it('follows its topic: payloads through staleAfter (default: everything), then onChange', async () => {
    const c = await cacheWith({ staleAfter: (payload) => payload || undefined });
    for (const key of ['a', 'b']) await c.get(key);
    c.heard.length = 0;
    c.changes.publish('things', 'a');
    assert.deepEqual([c.cache.peek('a'), c.cache.peek('b')], [undefined, 'b-value']);
    c.changes.publish('other', 'b');
    assert.equal(c.cache.peek('b'), 'b-value', 'another topic is not its business');
    c.changes.publish('things', '');
    assert.equal(c.cache.size, 0);
    assert.deepEqual(c.heard, ['a', '']);

    const all = await cacheWith();
    await all.get('a');
    all.changes.publish('things', 'whatever');
    assert.equal(all.cache.size, 0);
  });

  it('catches the feed up before every peek: another process wrote, everything goes', async () => {
    const c = await cacheWith();
    await c.get('a');
    c.heard.length = 0;
    c.outside.writes++;
    assert.equal(c.cache.peek('a'), undefined);
    assert.deepEqual(c.heard, [EVERYTHING]);
  });

  it('onlyWhileHeard: reads every time while its feed does not hear, keeps nothing then', async () => {
    const c = await cacheWith({ onlyWhileHeard: true });
    await c.get('a');
    assert.equal(c.cache.peek('a'), 'a-value');
    await c.hearing.stop();
    assert.equal(c.cache.size, 0, 'hearing ends: EVERYTHING');
    await c.get('a');
    await c.get('a');
    assert.equal(c.cache.size, 0);
    await c.changes.start();
    await c.get('a');
    await c.get('a');
    assert.deepEqual(c.reads, ['a', 'a', 'a', 'a']);
  });

  it('without onlyWhileHeard: keeps reusing within the TTL whether or not the feed hears', async () => {
    const c = await cacheWith();
    await c.hearing.stop();
    await c.get('a');
    await c.get('a');
    assert.deepEqual(c.reads, ['a']);
  });

  it('holds at most maxEntries, letting the oldest go first; a TTL of 0 holds nothing', async () => {
    const c = await cacheWith({ maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await c.get(key);
    assert.equal(c.cache.size, 2);
    assert.equal(c.cache.peek('a'), undefined);
    c.cache.set('b', 'newer');
    c.cache.set('d', 'd-value');
    assert.deepEqual([c.cache.peek('b'), c.cache.peek('c')], ['newer', undefined]);

    const off = await cacheWith({ ttlMs: 0 });
    await off.get('a');
    off.cache.set('a', 'set');
    await off.get('a');
    assert.deepEqual(off.reads, ['a', 'a']);
  });

  it('once closed, hears nothing more and holds nothing', async () => {
    const c = await cacheWith();
    await c.get('a');
    c.cache.close();
    assert.equal(c.cache.size, 0);
    c.heard.length = 0;
    c.changes.publish('things', 'a');
    assert.deepEqual(c.heard, []);
  });
});
