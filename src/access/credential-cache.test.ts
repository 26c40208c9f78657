import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CredentialCache,
  type CredentialOwner,
  createCredentialCache,
} from './credential-cache.ts';

interface Cred {
  readonly tenant: string;
  readonly user: string | null;
  readonly session: string | null;
  readonly api_key: string | null;
}

const owner = (cred: Cred): CredentialOwner => cred;
const session = (id: string, user: string, tenant = 'acme'): Cred => ({
  tenant,
  user,
  session: id,
  api_key: null,
});
const apiKey = (id: string, tenant = 'acme'): Cred => ({
  tenant,
  user: null,
  session: null,
  api_key: id,
});

/** A cache on a clock the test moves, with a loader that counts its calls. */
function cacheWith(options: { ttlMs?: number; maxEntries?: number } = {}) {
  let clock = 1_000;
  const cache = createCredentialCache({
    ttlMs: options.ttlMs ?? 30_000,
    maxEntries: options.maxEntries,
    now: () => clock,
  });
  cache.setActive(true);
  const loads: string[] = [];
  const get = (key: string, value: Cred | undefined) =>
    cache.through(
      key,
      async () => {
        loads.push(key);
        return value;
      },
      owner,
    );
  return { cache, loads, get, advance: (ms: number) => (clock += ms) };
}

/** Fills the cache with two sessions of two users and two keys, of two tenants. */
async function populated(cache: ReturnType<typeof cacheWith>) {
  await cache.get('s1', session('s1', 'ann'));
  await cache.get('s2', session('s2', 'bob'));
  await cache.get('s3', session('s3', 'ann', 'globex'));
  await cache.get('k1', apiKey('k1'));
  await cache.get('k2', apiKey('k2', 'globex'));
  cache.loads.length = 0;
}

async function reloadedAfter(
  cache: ReturnType<typeof cacheWith>,
  change: Parameters<CredentialCache['changed']>[0],
): Promise<string[]> {
  await populated(cache);
  cache.cache.changed(change);
  for (const key of ['s1', 's2', 's3', 'k1', 'k2']) await cache.get(key, apiKey(key));
  return cache.loads.sort();
}

describe('credential cache', () => {
  it('answers a found credential from memory until the TTL, then loads it again', async () => {
    const cache = cacheWith({ ttlMs: 500 });
    const first = session('s1', 'ann');
    assert.equal(await cache.get('s1', first), first);
    assert.equal(await cache.get('s1', session('s1', 'changed')), first);
    assert.deepEqual(cache.loads, ['s1']);
    cache.advance(500);
    assert.equal((await cache.get('s1', session('s1', 'changed')))?.user, 'changed');
    assert.deepEqual(cache.loads, ['s1', 's1']);
  });

  it('never keeps an unknown credential: a key created later is found', async () => {
    const cache = cacheWith();
    assert.equal(await cache.get('k1', undefined), undefined);
    assert.equal(await cache.get('k1', undefined), undefined);
    assert.deepEqual(cache.loads, ['k1', 'k1']);
    assert.equal(cache.cache.size, 0);
  });

  it('drops what a change is about, and only that', async () => {
    assert.deepEqual(await reloadedAfter(cacheWith(), { kind: 'tenant', id: 'acme' }), [
      'k1',
      's1',
      's2',
    ]);
    // A user's change (roles, status) touches their sessions in every tenant, not keys.
    assert.deepEqual(await reloadedAfter(cacheWith(), { kind: 'user', id: 'ann' }), ['s1', 's3']);
    assert.deepEqual(await reloadedAfter(cacheWith(), { kind: 'session', id: 's2' }), ['s2']);
    assert.deepEqual(await reloadedAfter(cacheWith(), { kind: 'api_key', id: 'k2' }), ['k2']);
  });

  it('does not keep an answer read while a change happened: it may predate the change', async () => {
    const cache = cacheWith();
    let release: (value: Cred) => void = () => {};
    const slow = cache.cache.through('s1', () => new Promise<Cred>((r) => (release = r)), owner);
    // The change commits (and is announced) while the read is in flight.
    cache.cache.changed({ kind: 'session', id: 'other' });
    release(session('s1', 'stale'));
    assert.equal((await slow)?.user, 'stale');
    assert.equal(cache.cache.size, 0);
    assert.equal((await cache.get('s1', session('s1', 'fresh')))?.user, 'fresh');
  });

  it('loads every time while inactive, and starts empty whenever it turns on or off', async () => {
    const cache = cacheWith();
    await cache.get('s1', session('s1', 'ann'));
    cache.cache.setActive(false);
    assert.equal(cache.cache.size, 0);
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.equal(cache.cache.size, 0);
    cache.cache.setActive(true);
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.deepEqual(cache.loads, ['s1', 's1', 's1', 's1']);
    assert.equal(cache.cache.size, 1);
    cache.cache.setActive(true);
    assert.equal(cache.cache.size, 0);
  });

  it('asks outsideWriteSeen before every lookup and drops everything when it says yes', async () => {
    const cache = cacheWith();
    let outsideWrites = 0;
    let asked = 0;
    let seen = 0;
    cache.cache.setActive(true, () => {
      asked++;
      const moved = outsideWrites !== seen;
      seen = outsideWrites;
      return moved;
    });
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('k1', apiKey('k1'));
    assert.equal((await cache.get('s1', session('s1', 'later')))?.user, 'ann');
    outsideWrites++;
    assert.equal((await cache.get('s1', session('s1', 'later')))?.user, 'later');
    await cache.get('k1', apiKey('k1'));
    assert.deepEqual(cache.loads, ['s1', 'k1', 's1', 'k1']);
    assert.equal(asked, 5);
    // Turned off (or on again without it), the check is forgotten.
    cache.cache.setActive(true);
    await cache.get('s1', session('s1', 'ann'));
    assert.equal(asked, 5);
  });

  it('a TTL of 0 turns it off', async () => {
    const cache = cacheWith({ ttlMs: 0 });
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.deepEqual(cache.loads, ['s1', 's1']);
  });

  it('holds at most maxEntries, letting the oldest go first', async () => {
    const cache = cacheWith({ maxEntries: 2 });
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s2', session('s2', 'bob'));
    await cache.get('s3', session('s3', 'cid'));
    assert.equal(cache.cache.size, 2);
    cache.loads.length = 0;
    await cache.get('s3', session('s3', 'cid'));
    await cache.get('s2', session('s2', 'bob'));
    await cache.get('s1', session('s1', 'ann'));
    assert.deepEqual(cache.loads, ['s1']);
  });
});
