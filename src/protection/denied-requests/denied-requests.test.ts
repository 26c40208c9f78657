import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { startNodes, type TestNode } from '../../../test/helpers/nodes.ts';
import { type TenancyTestApp, tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { deniedRequestWindows } from './denied-request-window.ts';

interface Row {
  readonly actor: string | null;
  readonly target: string;
  readonly request_id: string | null;
  readonly details: Record<string, unknown>;
}

async function deniedRows(test: TenancyTestApp): Promise<Row[]> {
  const auditor = await test.keyFor('acme', 'auditor');
  const reply = await test.send('GET', '/audit?action=request.denied&order=asc', auditor);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return (reply.body.events as { payload: Row }[]).map((event) => event.payload);
}

const context = (actor: string, request: number): AuditContext => ({
  actor,
  actor_type: 'api_key',
  ip: '192.0.2.1',
  user_agent: 'test',
  request_id: `req-${request}`,
});

const entry = (route: string): AuditEntry => ({
  tenant_id: 'acme',
  action: 'request.denied',
  target: `route:${route}`,
  outcome: 'denied',
  details: { error: 'permission_denied', permission: 'api_keys:manage' },
});

/** A clock and timers that only move when the test says so. */
function manualTime() {
  let ms = Date.parse('2026-01-01T00:00:00Z');
  const timers: { at: number; run: () => void }[] = [];
  return {
    now: () => ms,
    schedule: (run: () => void, delay: number) => {
      const timer = { at: ms + delay, run };
      timers.push(timer);
      return () => {
        const index = timers.indexOf(timer);
        if (index >= 0) timers.splice(index, 1);
      };
    },
    timers,
    /** Moves the clock and runs what fell due; resolves when their writes are done. */
    async advance(by: number, settle: () => Promise<unknown>) {
      ms += by;
      for (const timer of timers.filter((t) => t.at <= ms)) timer.run();
      await settle();
    },
  };
}

for (const engine of testEngines()) {
  describe(`denied requests in the audit trail (${engine})`, () => {
    // Issue 15: 500 denied requests wrote 500 audit rows, bounded by no quota or budget.
    it('500 denials of one caller on one route: one row while its window is open, 499 counted', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const viewer = await test.keyFor('acme', 'viewer');
      for (let i = 0; i < 500; i++) {
        const reply = await test.send('GET', '/auth/api-keys', viewer);
        assert.equal(reply.status, 403);
        assert.equal(reply.body.code, 'permission_denied');
      }
      // Another route is another window: its first denial is recorded too.
      assert.equal((await test.send('POST', '/roles', viewer, { name: 'x' })).status, 403);
      const rows = await deniedRows(test);
      assert.deepEqual(
        rows.map((row) => [row.target, row.details.repeated]),
        [
          ['route:GET /api/v1/auth/api-keys', undefined],
          ['route:POST /api/v1/roles', undefined],
        ],
      );
      const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /denied_requests_total\{audit="recorded"\} 2\n/);
      assert.match(metrics.body, /denied_requests_total\{audit="coalesced"\} 499\n/);
    });

    it('a node that stops writes the summaries of its open windows first', async (t) => {
      const nodes = await startNodes(t, engine, 2);
      const stopping = nodes[0] as TestNode;
      const reader = nodes[1] as TestNode;
      const viewer = await apiKeyFor(stopping.services, 'acme', 'viewer');
      const auditor = await apiKeyFor(stopping.services, 'acme', 'auditor');
      for (let i = 0; i < 20; i++) {
        const denied = await stopping.app.inject({
          url: '/api/v1/auth/api-keys',
          headers: { 'x-api-key': viewer },
        });
        assert.equal(denied.statusCode, 403);
      }
      await stopping.app.close();
      const trail = await reader.app.inject({
        url: '/api/v1/audit?action=request.denied&order=asc',
        headers: { 'x-api-key': auditor },
      });
      const rows = (trail.json() as { events: { payload: Row }[] }).events;
      assert.deepEqual(
        rows.map((event) => event.payload.details.repeated),
        [undefined, 19],
      );
    });

    it('writes the summary when the window ends, then records the next denial in full', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const time = manualTime();
      const writes: Promise<unknown>[] = [];
      const audit = {
        record: (c: AuditContext, e: readonly AuditEntry[]) => {
          const write = test.services.audit.record(c, e);
          writes.push(write);
          return write;
        },
      };
      const settle = () => Promise.all(writes);
      const windows = deniedRequestWindows(audit, {
        windowMs: 60_000,
        now: time.now,
        schedule: time.schedule,
      });
      for (let i = 1; i <= 500; i++) {
        await windows.deny(context('key-a', i), entry('GET /api/v1/auth/api-keys'));
        if (i === 1) await time.advance(10_000, settle);
        else await time.advance(1, settle);
      }
      await windows.deny(context('key-b', 501), entry('GET /api/v1/auth/api-keys'));
      assert.equal((await deniedRows(test)).length, 2, 'one row per caller while open');
      assert.equal(time.timers.length, 1, 'key-b was denied once: nothing to summarize');
      // The window of key-a opened at 0 s ends at 60 s.
      await time.advance(60_000 - 10_000 - 499, settle);
      const rows = await deniedRows(test);
      assert.equal(rows.length, 3);
      const summary = rows[2] as Row;
      assert.equal(summary.actor, 'key-a');
      assert.equal(summary.request_id, 'req-500', 'the last request it counted');
      assert.deepEqual(summary.details, {
        error: 'permission_denied',
        permission: 'api_keys:manage',
        repeated: 499,
        first_at: '2026-01-01T00:00:00.000Z',
        last_at: '2026-01-01T00:00:10.498Z',
      });
      // A new window: recorded in full again.
      await windows.deny(context('key-a', 502), entry('GET /api/v1/auth/api-keys'));
      assert.equal((await deniedRows(test)).length, 4);
      assert.equal((await deniedRows(test))[3]?.details.repeated, undefined);
      // Closing writes what open windows counted: key-b's window counted nothing.
      await windows.deny(context('key-a', 503), entry('GET /api/v1/auth/api-keys'));
      await windows.close();
      const closed = await deniedRows(test);
      assert.equal(closed.length, 5);
      assert.equal(closed[4]?.details.repeated, 1);
      assert.equal(time.timers.length, 0, 'no timer left behind');
    });

    it('records the next denial in full when the first could not be written', async (t) => {
      const test = await tenancyTestApp(t, engine);
      let fail = true;
      const counted: string[] = [];
      const windows = deniedRequestWindows(
        {
          record: (c, e) =>
            fail ? Promise.reject(new Error('disk full')) : test.services.audit.record(c, e),
        },
        { count: (outcome) => counted.push(outcome) },
      );
      const denied = entry('GET /api/v1/auth/api-keys');
      await assert.rejects(windows.deny(context('key-a', 1), denied), /disk full/);
      fail = false;
      await windows.deny(context('key-a', 2), denied);
      await windows.close();
      const rows = await deniedRows(test);
      assert.deepEqual(
        rows.map((row) => [row.request_id, row.details.repeated]),
        [['req-2', undefined]],
      );
      assert.deepEqual(counted, ['failed', 'recorded']);
    });
  });
}
