import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { AuditContext } from '../access/audit-context.ts';

/**
 * Issue 15 item 12: every read page is bounded in bytes as well as by count. The
 * audit trail gathers matches across several reads of the log, so its page is
 * bounded as it gathers: at most `storage.max_read_page_bytes` of event JSON, never
 * fewer than one event, and a next_cursor that continues exactly where it stopped.
 */
const PAGE_BYTES = 1024;

const CONTEXT: AuditContext = {
  actor: 'ann',
  actor_type: 'user',
  ip: null,
  user_agent: null,
  request_id: null,
};

for (const engine of testEngines()) {
  describe(`audit pages bounded in bytes (${engine})`, () => {
    it('cuts a page at max_read_page_bytes, one event at least, and continues where it cut', async (t) => {
      const test = await tenancyTestApp(t, engine, {
        storage: { max_read_page_bytes: PAGE_BYTES },
      });
      // u0-u2 and u4-u6 about 400 bytes each (two fit a page), u3 larger than a page.
      for (let i = 0; i < 7; i++) {
        await test.services.audit.record(CONTEXT, [
          {
            tenant_id: 'acme',
            action: 'user.created',
            target: `user:u${i}`,
            outcome: 'success',
            details: { note: (i === 3 ? 'y' : 'x').repeat(i === 3 ? 3000 : 100) },
          },
        ]);
      }
      const auditor = await test.keyFor('acme', 'auditor');
      for (const [query, expected] of [
        ['order=asc&action=user.created', ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']],
        ['order=desc&actor=ann', ['u6', 'u5', 'u4', 'u3', 'u2', 'u1', 'u0']],
      ] as const) {
        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: unknown;
        for (let page = 0; page < 10 && cursor !== null; page++) {
          const after = cursor === undefined ? '' : `&after=${cursor}`;
          const reply = await test.send('GET', `/audit?${query}&limit=100${after}`, auditor);
          assert.equal(reply.status, 200, JSON.stringify(reply.body));
          const events = reply.body.events as { payload: { target: string } }[];
          assert.ok(events.length >= 1, 'never an empty page while the cursor says there is more');
          assert.ok(
            events.length === 1 || Buffer.byteLength(JSON.stringify(events)) <= PAGE_BYTES + 64,
            'a page of several events stays within the budget',
          );
          sizes.push(events.length);
          seen.push(...events.map((event) => event.payload.target.slice('user:'.length)));
          cursor = reply.body.next_cursor;
        }
        assert.equal(cursor, null, query);
        assert.deepEqual(seen, expected, query);
        assert.deepEqual(sizes, [2, 1, 1, 2, 1], query);
      }
    });
  });
}
