import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolledChangeFeed } from '../../storage/polled-change-feed.ts';
import {
  type CredentialCache,
  type CredentialOwner,
  createCredentialCache,
  parseChange,
} from './credential-cache.ts';

interface Cred {
  readonly tenant: string;
  readonly user: string | null;
  readonly session: string | null;
  readonly api_key: string | null;
  readonly oauth_client?: string | null;
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

/**
 * A cache on a clock the test moves, with a loader that counts its calls, following
 * a started change feed whose data version moves when the test says another process wrote.
 */
async function cacheWith(options: { ttlMs?: number; maxEntries?: number } = {}) {
  let clock = 1_000;
  const outside = { writes: 0, asked: 0 };
  const changes = createPolledChangeFeed(() => {
    outside.asked++;
    return outside.writes;
  });
  const cache = createCredentialCache({
    ttlMs: options.ttlMs ?? 30_000,
    maxEntries: options.maxEntries,
    now: () => clock,
    changes,
  });
  let hearing = await changes.start();
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
  return {
    cache,
    loads,
    get,
    outside,
    changes,
    advance: (ms: number) => (clock += ms),
    /** Stops or starts hearing, as a lost and regained connection would. */
    async hear(on: boolean) {
      if (on) hearing = await changes.start();
      else await hearing.stop();
    },
  };
}

type TestCache = Awaited<ReturnType<typeof cacheWith>>;

/** Fills the cache with two sessions of two users and two keys, of two tenants. */
async function populated(cache: TestCache) {
  await cache.get('s1', session('s1', 'ann'));
  await cache.get('s2', session('s2', 'bob'));
  await cache.get('s3', session('s3', 'ann', 'globex'));
  await cache.get('k1', apiKey('k1'));
  await cache.get('k2', apiKey('k2', 'globex'));
  cache.loads.length = 0;
}

async function reloadedAfter(
  cache: TestCache,
  change: Parameters<CredentialCache['changed']>[0],
): Promise<string[]> {
  await populated(cache);
  cache.cache.changed(change);
  for (const key of ['s1', 's2', 's3', 'k1', 'k2']) await cache.get(key, apiKey(key));
  return cache.loads.sort();
}

describe('credential cache', () => {
  it('answers a found credential from memory until the TTL, then loads it again', async () => {
    const cache = await cacheWith({ ttlMs: 500 });
    const first = session('s1', 'ann');
    assert.equal(await cache.get('s1', first), first);
    assert.equal(await cache.get('s1', session('s1', 'changed')), first);
    assert.deepEqual(cache.loads, ['s1']);
    cache.advance(500);
    assert.equal((await cache.get('s1', session('s1', 'changed')))?.user, 'changed');
    assert.deepEqual(cache.loads, ['s1', 's1']);
  });

  it('never keeps an unknown credential: a key created later is found', async () => {
    const cache = await cacheWith();
    assert.equal(await cache.get('k1', undefined), undefined);
    assert.equal(await cache.get('k1', undefined), undefined);
    assert.deepEqual(cache.loads, ['k1', 'k1']);
    assert.equal(cache.cache.size, 0);
  });

  it('drops what a change is about, and only that', async () => {
    assert.deepEqual(await reloadedAfter(await cacheWith(), { kind: 'tenant', id: 'acme' }), [
      'k1',
      's1',
      's2',
    ]);
    // A user's change (roles, status) touches their sessions in every tenant, not keys.
    assert.deepEqual(await reloadedAfter(await cacheWith(), { kind: 'user', id: 'ann' }), [
      's1',
      's3',
    ]);
    assert.deepEqual(await reloadedAfter(await cacheWith(), { kind: 'session', id: 's2' }), ['s2']);
    assert.deepEqual(await reloadedAfter(await cacheWith(), { kind: 'api_key', id: 'k2' }), ['k2']);
  });

  it('does not keep an answer read while a change happened: it may predate the change', async () => {
    const cache = await cacheWith();
    let release: (value: Cred) => void = () => {};
    const slow = cache.cache.through('s1', () => new Promise<Cred>((r) => (release = r)), owner);
    // The change commits (and is announced) while the read is in flight.
    cache.cache.changed({ kind: 'session', id: 'other' });
    release(session('s1', 'stale'));
    assert.equal((await slow)?.user, 'stale');
    assert.equal(cache.cache.size, 0);
    assert.equal((await cache.get('s1', session('s1', 'fresh')))?.user, 'fresh');
  });

  it('loads every time while its feed does not hear, and starts empty whenever that changes', async () => {
    const cache = await cacheWith();
    await cache.get('s1', session('s1', 'ann'));
    await cache.hear(false);
    assert.equal(cache.cache.size, 0);
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.equal(cache.cache.size, 0);
    await cache.hear(true);
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.deepEqual(cache.loads, ['s1', 's1', 's1', 's1']);
    assert.equal(cache.cache.size, 1);
    await cache.hear(false);
    await cache.hear(true);
    assert.equal(cache.cache.size, 0);
  });

  it('catches up before every lookup and drops everything once another process wrote', async () => {
    const cache = await cacheWith();
    const askedBefore = cache.outside.asked;
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('k1', apiKey('k1'));
    assert.equal((await cache.get('s1', session('s1', 'later')))?.user, 'ann');
    cache.outside.writes++;
    assert.equal((await cache.get('s1', session('s1', 'later')))?.user, 'later');
    await cache.get('k1', apiKey('k1'));
    assert.deepEqual(cache.loads, ['s1', 'k1', 's1', 'k1']);
    assert.equal(cache.outside.asked - askedBefore, 5);
  });

  it("publishes this node's changes on its feed, as the triggers announce them", async () => {
    const cache = await cacheWith();
    const announced: unknown[] = [];
    cache.changes.subscribe('credentials', (change) => announced.push(change));
    cache.cache.changed({ kind: 'tenant', id: 'a:b' });
    assert.deepEqual(announced, ['tenant:a:b']);
  });

  it('drops what depends on an OAuth client when the client changes', async () => {
    const cache = await cacheWith();
    await populated(cache);
    const client: Cred = { tenant: 'acme', user: null, session: null, api_key: null };
    await cache.get('c1', { ...client, oauth_client: 'tc_1' });
    await cache.get('c2', { ...client, oauth_client: 'tc_2' });
    const size = cache.cache.size;
    cache.cache.changed({ kind: 'oauth_client', id: 'tc_1' });
    assert.equal(cache.cache.size, size - 1, 'only the changed client goes');
    await cache.get('c1', { ...client, oauth_client: 'tc_1' });
    await cache.get('c2', { ...client, oauth_client: 'tc_2' });
    assert.deepEqual(
      cache.loads.filter((key) => key.startsWith('c')),
      ['c1', 'c2', 'c1'],
    );
  });

  it('reads the payloads it announces, and nothing else', () => {
    assert.deepEqual(parseChange('api_key:0192-abc'), { kind: 'api_key', id: '0192-abc' });
    assert.deepEqual(parseChange('oauth_client:tc_x'), { kind: 'oauth_client', id: 'tc_x' });
    assert.deepEqual(parseChange('tenant:a:b'), { kind: 'tenant', id: 'a:b' });
    for (const bad of ['', 'tenant', 'tenant:', 'role:admin', ':x']) {
      assert.equal(parseChange(bad), undefined, bad);
    }
  });

  it('drops everything on a payload it cannot read', async () => {
    const cache = await cacheWith();
    await populated(cache);
    cache.changes.publish('credentials', 'api_key:k1');
    assert.equal(cache.cache.size, 4);
    cache.changes.publish('credentials', 'role:admin');
    assert.equal(cache.cache.size, 0);
  });

  it('a TTL of 0 turns it off', async () => {
    const cache = await cacheWith({ ttlMs: 0 });
    await cache.get('s1', session('s1', 'ann'));
    await cache.get('s1', session('s1', 'ann'));
    assert.deepEqual(cache.loads, ['s1', 's1']);
  });

  it('holds at most maxEntries, letting the oldest go first', async () => {
    const cache = await cacheWith({ maxEntries: 2 });
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
