import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { append, call, eventsApp } from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { TesseraApp } from '../../app.ts';

/** The smallest budget allowed: two ~450-byte events fit a page, a third does not. */
const PAGE_BYTES = 1024;

/** Follows `next_cursor` from `first` until it is null; bounded by `pages`. */
async function walk(
  app: TesseraApp,
  url: (cursor: unknown) => string,
  pages: number,
): Promise<{ sizes: number[]; versions: number[] }> {
  const sizes: number[] = [];
  const versions: number[] = [];
  let cursor: unknown;
  for (let page = 0; page < pages; page++) {
    const reply = await call(app, 'GET', url(cursor));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const events = reply.body.events ?? [];
    assert.ok(events.length >= 1, 'a page is never empty while the cursor says there is more');
    assert.ok(
      events.length === 1 || Buffer.byteLength(JSON.stringify(events)) <= PAGE_BYTES + 64,
      'a page of several events stays within the budget',
    );
    sizes.push(events.length);
    versions.push(...events.map((e) => e.version as number));
    cursor = reply.body.next_cursor;
    if (cursor === null) return { sizes, versions };
  }
  throw new Error(`more than ${pages} pages`);
}

for (const engine of testEngines()) {
  describe(`read pages bounded in bytes (${engine})`, () => {
    it('cuts entity reads and queries at max_read_page_bytes, always one event, and says where to continue', async (t) => {
      const { app } = await eventsApp(t, engine, { storage: { max_read_page_bytes: PAGE_BYTES } });
      const small = { event_type: 'E', payload: 'x'.repeat(200) };
      const huge = { event_type: 'E', payload: 'y'.repeat(3000) };
      // Versions 0-2 small, 3 larger than the whole budget, 4-6 small.
      const written = await append(app, 's', [small, small, small, huge, small, small, small]);
      assert.equal(written.status, 201);

      const forward = await walk(
        app,
        (cursor) =>
          `/entities/s/events?limit=100${cursor === undefined ? '' : `&from_version=${cursor}`}`,
        10,
      );
      assert.deepEqual(forward.versions, [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(forward.sizes, [2, 1, 1, 2, 1]);

      const backward = await walk(
        app,
        (cursor) =>
          `/entities/s/events?direction=backward&limit=100${cursor === undefined ? '' : `&from_version=${cursor}`}`,
        10,
      );
      assert.deepEqual(backward.versions, [6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(backward.sizes, [2, 1, 1, 2, 1]);

      for (const order of ['asc', 'desc']) {
        const queried = await walk(
          app,
          (cursor) =>
            `/events/query?order=${order}&limit=100${cursor === undefined ? '' : `&after=${cursor}`}`,
          10,
        );
        const all = [0, 1, 2, 3, 4, 5, 6];
        assert.deepEqual(queried.versions, order === 'asc' ? all : all.reverse());
        assert.deepEqual(queried.sizes, [2, 1, 1, 2, 1]);
      }

      // The count limit still holds, and a page that ends at it says where to continue.
      const counted = await call(app, 'GET', '/entities/s/events?limit=1');
      assert.deepEqual(
        counted.body.events?.map((e) => e.version),
        [0],
      );
      assert.equal(counted.body.next_cursor, 1);
    });

    it('cuts the snapshot list at max_read_page_bytes too, and continues where it cut', async (t) => {
      const { app } = await eventsApp(t, engine, { storage: { max_read_page_bytes: PAGE_BYTES } });
      // Each payload replaces the whole state (RFC 7396): snapshots 0-2 and 4-6 hold
      // about 450 bytes of JSON, 3 more than the whole budget.
      for (let version = 0; version < 7; version++) {
        const payload = (version === 3 ? 'y' : 'x').repeat(version === 3 ? 3000 : 300);
        assert.equal((await append(app, 'snap', [{ event_type: 'E', payload }])).status, 201);
        assert.equal((await call(app, 'POST', '/snapshots', { entity_id: 'snap' })).status, 201);
      }
      const versions: number[] = [];
      const sizes: number[] = [];
      let cursor: unknown;
      for (let page = 0; page < 10 && cursor !== null; page++) {
        const after = cursor === undefined ? '' : `&after=${cursor}`;
        const reply = await call(app, 'GET', `/snapshots?entity_id=snap&limit=100${after}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const snapshots = reply.body.snapshots as { version: number }[];
        assert.ok(snapshots.length >= 1, 'never an empty page while the cursor says there is more');
        assert.ok(
          snapshots.length === 1 || Buffer.byteLength(JSON.stringify(snapshots)) <= PAGE_BYTES + 64,
          'a page of several snapshots stays within the budget',
        );
        sizes.push(snapshots.length);
        versions.push(...snapshots.map((snapshot) => snapshot.version));
        cursor = reply.body.next_cursor;
      }
      assert.equal(cursor, null);
      assert.deepEqual(versions, [6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(sizes, [2, 1, 1, 2, 1]);
      const counted = await call(app, 'GET', '/snapshots?entity_id=snap&limit=1');
      assert.equal(counted.body.next_cursor, 6);
    });
  });
}
