import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { AuditContext } from '../access/audit-context.ts';

const CONTEXT: AuditContext = {
  actor: null,
  actor_type: 'user',
  ip: null,
  user_agent: null,
  request_id: null,
};

for (const engine of testEngines()) {
  describe(`audit trail routes (${engine})`, () => {
    it('records a denied request before answering, readable with audit:read only', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const viewer = await test.keyFor('acme', 'viewer');
      const denied = await test.send('GET', '/auth/api-keys', viewer);
      assert.equal(denied.status, 403);
      const auditor = await test.keyFor('acme', 'auditor');
      const trail = await test.send('GET', '/audit?action=request.denied', auditor);
      assert.equal(trail.status, 200);
      const events = trail.body.events as { tenant_id: string; payload: Record<string, unknown> }[];
      assert.equal(events.length, 1);
      assert.equal(events[0]?.tenant_id, 'acme');
      assert.deepEqual(
        { ...events[0]?.payload, ip: undefined, request_id: undefined },
        {
          action: 'request.denied',
          actor: events[0]?.payload.actor,
          actor_type: 'api_key',
          target: 'route:GET /api/v1/auth/api-keys',
          outcome: 'denied',
          ip: undefined,
          user_agent: 'lightMyRequest',
          request_id: undefined,
          details: { error: 'permission_denied', permission: 'api_keys:manage' },
        },
      );
      // Not for events:read alone, and not through the event routes either.
      assert.equal((await test.send('GET', '/audit', viewer)).status, 403);
      const asEvents = await test.send('GET', '/entities/%24audit/events', auditor);
      assert.deepEqual(asEvents.body.events, []);
      // Another tenant's trail stays its own.
      const other = await test.send('GET', '/audit', await test.keyFor('globex', 'auditor'));
      assert.deepEqual(other.body.events, []);
    });

    it('filters by action, actor, target, outcome and time, newest first, with a cursor', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const as = (actor: string) => ({ ...CONTEXT, actor });
      for (let i = 0; i < 6; i++) {
        await test.services.audit.record(as(i % 2 === 0 ? 'ann' : 'bob'), [
          {
            tenant_id: 'acme',
            action: i < 3 ? 'user.created' : 'user.removed',
            target: `user:u${i}`,
            outcome: i === 5 ? 'failure' : 'success',
          },
        ]);
      }
      const auditor = await test.keyFor('acme', 'auditor');
      const targets = async (query: string) => {
        const reply = await test.send('GET', `/audit?${query}`, auditor);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const events = reply.body.events as { payload: { target: string } }[];
        return { targets: events.map((e) => e.payload.target), next: reply.body.next_cursor };
      };
      assert.deepEqual((await targets('')).targets, [
        'user:u5',
        'user:u4',
        'user:u3',
        'user:u2',
        'user:u1',
        'user:u0',
      ]);
      assert.deepEqual((await targets('order=asc&action=user.removed')).targets, [
        'user:u3',
        'user:u4',
        'user:u5',
      ]);
      assert.deepEqual((await targets('actor=bob')).targets, ['user:u5', 'user:u3', 'user:u1']);
      assert.deepEqual((await targets('target=user:u2')).targets, ['user:u2']);
      assert.deepEqual((await targets('outcome=failure')).targets, ['user:u5']);
      assert.deepEqual((await targets('until=2000-01-01T00:00:00Z')).targets, []);
      assert.equal((await targets('since=2000-01-01T00:00:00Z')).targets.length, 6);
      const first = await targets('actor=ann&limit=2');
      assert.deepEqual(first.targets, ['user:u4', 'user:u2']);
      assert.deepEqual((await targets(`actor=ann&limit=2&after=${first.next}`)).targets, [
        'user:u0',
      ]);
    });

    it('refuses bad filters with 400 and anonymous callers with 401', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      for (const query of [
        'outcome=maybe',
        'since=yesterday',
        'limit=0',
        'colour=red',
        'action=$x',
      ]) {
        const reply = await test.send('GET', `/audit?${query}`, auditor);
        assert.equal(reply.status, 400, query);
        assert.equal(reply.body.code, 'validation_failed', query);
      }
      assert.equal((await test.send('GET', '/audit', null)).status, 401);
    });

    it('lets no client append to a $-prefixed entity, through either append route', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const admin = await test.keyFor('acme', 'admin');
      const event = { event_type: 'user.created', payload: { forged: true } };
      const direct = await test.send('POST', '/entities/%24audit/events', admin, {
        events: [event],
      });
      assert.equal(direct.status, 403);
      assert.equal(direct.body.code, 'entity_reserved');
      const ingest = await test.send('POST', '/events', admin, {
        events: [
          { ...event, entity_id: 'fine' },
          { ...event, entity_id: '$anything' },
        ],
      });
      assert.equal(ingest.status, 403);
      assert.equal(ingest.body.index, 1);
      const stats = await test.send('GET', '/stats', admin);
      assert.equal(stats.body.events, 0);
    });
  });
}
