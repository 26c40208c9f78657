import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { PRESETS } from './quotas.ts';

const SEVEN = {
  max_events_per_day: 500,
  max_storage_bytes: 1_000_000,
  max_queries_per_hour: 60,
  max_api_keys: 3,
  max_projections: 4,
  max_pipelines: 1,
  max_webhooks: 6,
};

type Usage = Record<
  string,
  { quota: string; used: number | null; limit: number; reset_at: string | null }
>;

for (const engine of testEngines()) {
  describe(`quota routes (${engine})`, () => {
    it('sets all seven or a preset, reads them back, follows the plan again, and audits', async (t) => {
      const { send, platform, keyFor } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, { id: 'acme', name: 'Acme', plan: 'free' });
      const initial = await send('GET', '/tenants/acme/quotas', platform);
      assert.equal(initial.status, 200);
      assert.deepEqual(initial.body, {
        tenant_id: 'acme',
        plan: 'free',
        source: 'plan',
        quotas: PRESETS.free,
        updated_at: null,
      });
      assert.equal(
        (initial.body.quotas as Record<string, number>).max_webhooks,
        3,
        'the free preset allows 3 webhook endpoints',
      );

      const set = await send('PUT', '/tenants/acme/quotas', platform, SEVEN);
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual([set.body.source, set.body.quotas], ['explicit', SEVEN]);
      assert.equal(typeof set.body.updated_at, 'string');
      assert.deepEqual((await send('GET', '/tenants/acme/quotas', platform)).body.quotas, SEVEN);

      const preset = await send('PUT', '/tenants/acme/quotas', platform, {
        preset: 'professional',
      });
      assert.deepEqual(
        [preset.body.source, preset.body.quotas],
        ['explicit', PRESETS.professional],
      );
      // Explicit quotas stay when the plan changes.
      await send('PATCH', '/tenants/acme', platform, { plan: 'unlimited' });
      assert.deepEqual(
        (await send('GET', '/tenants/acme/quotas', platform)).body.quotas,
        PRESETS.professional,
      );
      const followed = await send('DELETE', '/tenants/acme/quotas', platform);
      assert.deepEqual(
        [followed.body.source, followed.body.quotas, followed.body.updated_at],
        ['plan', PRESETS.unlimited, null],
      );

      const audit = await send(
        'GET',
        '/audit?action=quota.updated&order=asc',
        await keyFor('acme'),
      );
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      const entries = (audit.body.events as { payload: Record<string, unknown> }[]).map(
        (event) => event.payload,
      );
      assert.deepEqual(
        entries.map((entry) => [entry.target, entry.outcome, entry.details]),
        [
          ['tenant:acme', 'success', { source: 'explicit', quotas: SEVEN }],
          ['tenant:acme', 'success', { source: 'explicit', quotas: PRESETS.professional }],
          ['tenant:acme', 'success', { source: 'plan', quotas: PRESETS.unlimited }],
        ],
      );
    });

    it('refuses invalid quotas with 400 and unknown tenants with 404, changing nothing', async (t) => {
      const { send, platform } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, { id: 'acme', name: 'Acme', plan: 'free' });
      const { max_pipelines: _, ...withoutPipelines } = SEVEN;
      const { max_webhooks: __, ...six } = SEVEN;
      for (const body of [
        withoutPipelines,
        six,
        { ...SEVEN, max_api_keys: -1 },
        { ...SEVEN, max_events_per_day: 1.5 },
        { ...SEVEN, max_storage_bytes: 'ten' },
        { ...SEVEN, max_queries_per_hour: null },
        { ...SEVEN, max_api_keys: '' },
        { ...SEVEN, max_pipelines: '2' },
        { ...SEVEN, max_webhooks: null },
        { ...SEVEN, max_webhooks: -3 },
        { ...SEVEN, extra: 1 },
        { preset: 'gold' },
        { preset: 'free', max_api_keys: 1 },
        {},
      ]) {
        const reply = await send('PUT', '/tenants/acme/quotas', platform, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.code, 'validation_failed');
      }
      assert.equal((await send('GET', '/tenants/acme/quotas', platform)).body.source, 'plan');
      for (const [method, body] of [
        ['PUT', SEVEN],
        ['DELETE', undefined],
        ['GET', undefined],
      ] as const) {
        const reply = await send(method, '/tenants/nope/quotas', platform, body);
        assert.equal(reply.body.code, 'tenant_not_found', method);
      }
      assert.equal((await send('GET', '/tenants/nope/stats', platform)).status, 404);
      assert.equal((await send('PUT', '/tenants/Bad_Id/quotas', platform, SEVEN)).status, 400);
    });

    it('lets only platform administrators change quotas; members read their own tenant', async (t) => {
      const { send, platform, keyFor } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, { id: 'acme', name: 'Acme', plan: 'free' });
      await send('POST', '/tenants', platform, { id: 'globex', name: 'Globex', plan: 'free' });
      const admin = await keyFor('acme');
      const viewer = await keyFor('acme', 'viewer');
      for (const [method, body] of [
        ['PUT', SEVEN],
        ['PUT', { preset: 'unlimited' }],
        ['DELETE', undefined],
      ] as const) {
        const own = await send(method, '/tenants/acme/quotas', admin, body);
        assert.deepEqual([own.status, own.body.code], [403, 'permission_denied'], method);
        assert.equal((await send(method, '/tenants/acme/quotas', null, body)).status, 401);
      }
      assert.equal((await send('GET', '/tenants/acme/quotas', platform)).body.source, 'plan');
      for (const path of ['/tenants/acme/quotas', '/tenants/acme/stats']) {
        assert.equal((await send('GET', path, admin)).status, 200, path);
        assert.equal((await send('GET', path, viewer)).status, 403, path);
        assert.equal((await send('GET', path, null)).status, 401, path);
        const other = await send('GET', path.replace('acme', 'globex'), admin);
        assert.deepEqual([other.status, other.body.code], [403, 'permission_denied'], path);
        // The same answer whether the other tenant exists or not.
        assert.equal((await send('GET', path.replace('acme', 'nope'), admin)).status, 403);
      }
    });

    it('reports usage against every limit with its reset time', async (t) => {
      const { send, platform, keyFor, db } = await tenancyTestApp(t, engine);
      await send('POST', '/tenants', platform, { id: 'acme', name: 'Acme', plan: 'free' });
      const admin = await keyFor('acme');
      const appended = await send('POST', '/entities/order-1/events', admin, {
        events: [
          { event_type: 'Placed', payload: { n: 1 } },
          { event_type: 'Paid', payload: {} },
        ],
      });
      assert.equal(appended.status, 201);
      assert.equal((await send('GET', '/events/query', admin)).status, 200);
      // Every endpoint counts, enabled or not (rows as the webhooks domain writes them).
      for (const [id, enabled] of [
        ['w1', 1],
        ['w2', 0],
      ] as const) {
        await db.kysely
          .insertInto('webhook_endpoints')
          .values({
            id,
            tenant_id: 'acme',
            url: `https://hooks.example/${id}`,
            description: '',
            enabled,
            disabled_reason: enabled ? null : 'manual',
            filters: '{}',
            secret_box: 'sealed',
            cursor_position: 0,
            created_ms: 0,
            updated_ms: 0,
          })
          .execute();
      }
      const before = Date.now();
      const stats = await send('GET', '/tenants/acme/stats', admin);
      assert.equal(stats.status, 200);
      assert.deepEqual([stats.body.plan, stats.body.source], ['free', 'plan']);
      const usage = stats.body.usage as Usage;
      const day = before - (before % 86_400_000);
      const hour = before - (before % 3_600_000);
      const iso = (ms: number) => new Date(ms).toISOString();
      const bytes = '{"n":1}{}{}{}'.length;
      assert.deepEqual(usage, {
        events_today: {
          quota: 'max_events_per_day',
          used: 2,
          limit: 10_000,
          reset_at: iso(day + 86_400_000),
        },
        storage_bytes: {
          quota: 'max_storage_bytes',
          used: bytes,
          limit: 1024 ** 3,
          reset_at: null,
        },
        queries_this_hour: {
          quota: 'max_queries_per_hour',
          used: 1,
          limit: 1_000,
          reset_at: iso(hour + 3_600_000),
        },
        api_keys: { quota: 'max_api_keys', used: 1, limit: 2, reset_at: null },
        projections: { quota: 'max_projections', used: 0, limit: 5, reset_at: null },
        pipelines: { quota: 'max_pipelines', used: 0, limit: 2, reset_at: null },
        webhooks: { quota: 'max_webhooks', used: 2, limit: 3, reset_at: null },
      });
      // Unlimited queries are not counted (a write per read would buy nothing).
      await send('PATCH', '/tenants/acme', platform, { plan: 'unlimited' });
      await send('GET', '/events/query', admin);
      const after = (await send('GET', '/tenants/acme/stats', admin)).body.usage as Usage;
      assert.deepEqual(after.queries_this_hour, {
        ...usage.queries_this_hour,
        used: null,
        limit: 0,
      });
      assert.equal(after.events_today?.used, 2);
    });
  });
}
