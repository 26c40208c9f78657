import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddress } from '../../platform/cidr.ts';
import { createPolledChangeFeed } from '../../storage/polled-change-feed.ts';
import { createIpFilterCache, type IpFilterCacheDeps } from './ip-filter-cache.ts';
import { type FilterEntry, refuses } from './ip-filter-rules.ts';

const block = (cidr: string, tenant: string | null = null): FilterEntry => ({
  id: cidr,
  tenant_id: tenant,
  cidr,
  action: 'block',
});

/** A source of entries whose reads finish when the test says. */
function source(initial: FilterEntry[] = []) {
  let entries = initial;
  const pending: (() => void)[] = [];
  let reads = 0;
  let failNext = false;
  return {
    set: (next: FilterEntry[]) => {
      entries = next;
    },
    failNext: () => {
      failNext = true;
    },
    get reads() {
      return reads;
    },
    /** Lets every read begun so far finish. */
    release: () => {
      for (const finish of pending.splice(0)) finish();
    },
    readAll: () => {
      reads++;
      // What the database holds when the read begins is what it returns.
      const snapshot = entries;
      const fail = failNext;
      failNext = false;
      return new Promise<FilterEntry[]>((resolve, reject) => {
        pending.push(() => (fail ? reject(new Error('database down')) : resolve(snapshot)));
      });
    },
  };
}

/**
 * A cache on `db`, following a started change feed whose data version moves when the
 * test says another process wrote (SQLite).
 */
async function cacheOn(db: ReturnType<typeof source>, deps: Partial<IpFilterCacheDeps> = {}) {
  const outside = { writes: 0 };
  const changes = createPolledChangeFeed(() => outside.writes);
  await changes.start();
  const cache = createIpFilterCache({ readAll: db.readAll, changes, ...deps });
  return Object.assign(cache, { outside, changes });
}

/** Lets pending promise callbacks run until `condition` holds (bounded: no clock involved). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail('the condition never held');
}

const blocked = (
  rules: Awaited<ReturnType<ReturnType<typeof createIpFilterCache>['current']>>,
  ip: string,
) => refuses(rules.global, parseAddress(ip));

describe('IP filter cache', () => {
  it('reads once for the first requests, then decides from memory', async () => {
    const db = source([block('192.0.2.0/24')]);
    const cache = await cacheOn(db);
    const first = cache.current();
    const second = cache.current();
    db.release();
    assert.ok(blocked(await first, '192.0.2.1'));
    assert.ok(blocked(await second, '192.0.2.1'));
    await cache.current();
    assert.equal(db.reads, 1);
  });

  it('a reload asked for during a read is answered by a later read', async () => {
    const db = source([]);
    const cache = await cacheOn(db);
    const early = cache.reload();
    // The change commits while the first read is under way, after it began.
    db.set([block('198.51.100.0/24')]);
    const afterChange = cache.reload();
    const alsoAfter = cache.reload();
    db.release();
    await early;
    await new Promise((resolve) => setImmediate(resolve));
    db.release();
    await afterChange;
    await alsoAfter;
    assert.equal(db.reads, 2, 'callers arriving meanwhile share one more read');
    assert.ok(blocked(await cache.current(), '198.51.100.7'));
  });

  it('re-reads before deciding once another process wrote', async () => {
    const db = source([]);
    const cache = await cacheOn(db);
    const first = cache.current();
    db.release();
    assert.ok(!blocked(await first, '203.0.113.1'));
    db.set([block('203.0.113.0/24')]);
    cache.outside.writes++;
    const next = cache.current();
    const concurrent = cache.current();
    db.release();
    assert.ok(blocked(await next, '203.0.113.1'));
    assert.ok(blocked(await concurrent, '203.0.113.1'), 'a request meanwhile waits for it too');
    assert.equal(db.reads, 2);
  });

  it('fails requests until the first read succeeds, then keeps the lists through failures', async () => {
    const db = source([block('192.0.2.0/24')]);
    const errors: unknown[] = [];
    const cache = await cacheOn(db, { onError: (e) => errors.push(e) });
    db.failNext();
    const failing = cache.current();
    db.release();
    await assert.rejects(failing, /database down/);
    const retry = cache.current();
    db.release();
    assert.ok(blocked(await retry, '192.0.2.1'));

    cache.outside.writes++;
    db.failNext();
    const during = cache.current();
    db.release();
    assert.ok(blocked(await during, '192.0.2.1'), 'the lists in force stay in force');
    assert.equal(errors.length, 1);
    assert.ok(blocked(await cache.current(), '192.0.2.1'), 'without a read per request');
    assert.equal(db.reads, 3);
  });

  it('re-reads at once when the feed announces a change, and decides from memory meanwhile', async () => {
    const db = source([]);
    const cache = await cacheOn(db);
    const first = cache.current();
    db.release();
    await first;
    db.set([block('192.0.2.0/24')]);
    cache.changes.publish('ip_filters', '');
    assert.equal(db.reads, 2, 'the re-read began');
    assert.ok(!blocked(await cache.current(), '192.0.2.1'), 'no request waits for it');
    db.release();
    await until(async () => blocked(await cache.current(), '192.0.2.1'));
    assert.equal(db.reads, 2);
  });

  it('reads nothing on a change before its first request, nor after it is closed', async () => {
    const db = source([]);
    const cache = await cacheOn(db);
    cache.changes.publish('ip_filters', '');
    assert.equal(db.reads, 0);
    const first = cache.current();
    db.release();
    await first;
    cache.close();
    cache.changes.publish('ip_filters', '');
    assert.equal(db.reads, 1);
  });

  it('keeps each tenant’s list apart from the global one', async () => {
    const db = source([block('10.0.0.0/8', 'acme'), block('2001:db8::/32')]);
    const cache = await cacheOn(db);
    const pending = cache.current();
    db.release();
    const rules = await pending;
    assert.ok(refuses(rules.tenant('acme'), parseAddress('10.1.1.1')));
    assert.ok(!refuses(rules.tenant('beta'), parseAddress('10.1.1.1')));
    assert.ok(!refuses(rules.global, parseAddress('10.1.1.1')));
    assert.ok(refuses(rules.global, parseAddress('2001:db8::1')));
  });
});
