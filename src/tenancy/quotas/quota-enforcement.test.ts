import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Credential, tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { PRESETS } from './quotas.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const limits = (changes: Partial<typeof PRESETS.unlimited>) => ({
  ...PRESETS.unlimited,
  ...changes,
});
const one = (n = 0) => ({ events: [{ event_type: 'Noted', payload: { n } }] });

for (const engine of testEngines()) {
  describe(`quota enforcement (${engine})`, () => {
    async function setUp(t: Parameters<typeof tenancyTestApp>[0]) {
      const test = await tenancyTestApp(t, engine);
      const { send, platform } = test;
      for (const id of ['acme', 'globex']) {
        await send('POST', '/tenants', platform, { id, name: id, plan: 'unlimited' });
      }
      const setQuotas = async (tenant: string, changes: Partial<typeof PRESETS.unlimited>) => {
        const reply = await send('PUT', `/tenants/${tenant}/quotas`, platform, limits(changes));
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
      };
      const inject = async (method: string, url: string, as: Credential, payload?: object) => {
        const headers = as && 'key' in as ? { 'x-api-key': as.key } : {};
        return test.app.inject({ method: method as 'GET', url: `/api/v1${url}`, headers, payload });
      };
      return { ...test, setQuotas, inject, acme: await test.keyFor('acme') };
    }

    it('refuses the append past the day’s limit with 429, writing nothing', async (t) => {
      const { send, setQuotas, inject, acme, keyFor } = await setUp(t);
      await setQuotas('acme', { max_events_per_day: 3 });
      assert.equal(
        (
          await send('POST', '/entities/a/events', acme, {
            events: [one().events[0], one(1).events[0]],
          })
        ).status,
        201,
      );
      assert.equal(
        (await send('POST', '/events', acme, { entity_id: 'b', event_type: 'E', payload: 1 }))
          .status,
        201,
      );
      const before = Date.now();
      const refused = await inject('POST', '/entities/a/events', acme, one(2));
      assert.equal(refused.statusCode, 429);
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      const body = refused.json();
      const resetAt = before - (before % DAY) + DAY;
      assert.deepEqual(
        [body.code, body.quota, body.limit, body.used, body.reset_at],
        ['quota_exceeded', 'max_events_per_day', 3, 3, new Date(resetAt).toISOString()],
      );
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(Math.abs(retryAfter - (resetAt - before) / 1000) < 5, `Retry-After ${retryAfter}`);
      const batch = await send('POST', '/events', acme, {
        events: [{ entity_id: 'c', event_type: 'E', payload: 1 }],
      });
      assert.equal(batch.body.code, 'quota_exceeded');
      const stored = await send('GET', '/events/query', acme);
      assert.equal(stored.body.count, 3);
      // Another tenant is not affected.
      assert.equal(
        (await send('POST', '/entities/a/events', await keyFor('globex'), one())).status,
        201,
      );
    });

    it('lets exactly the limit through when many appends race for it', async (t) => {
      const { send, setQuotas, acme, platform } = await setUp(t);
      await setQuotas('acme', { max_events_per_day: 25 });
      const replies = await Promise.all(
        Array.from({ length: 70 }, (_, i) =>
          send('POST', `/entities/e-${i % 7}/events`, acme, one(i)),
        ),
      );
      const statuses = replies.map((reply) => reply.status);
      assert.equal(statuses.filter((status) => status === 201).length, 25);
      assert.equal(statuses.filter((status) => status === 429).length, 45);
      assert.equal((await send('GET', '/events/query?limit=1000', acme)).body.count, 25);
      const usage = (await send('GET', '/tenants/acme/stats', platform)).body.usage as Record<
        string,
        { used: number }
      >;
      assert.equal(usage.events_today?.used, 25);
    });

    it('limits stored bytes, with no Retry-After: waiting frees nothing', async (t) => {
      const { send, setQuotas, inject, acme } = await setUp(t);
      // {"n":0} and {}: 9 bytes an event.
      await setQuotas('acme', { max_storage_bytes: 20 });
      assert.equal((await send('POST', '/entities/a/events', acme, one())).status, 201);
      assert.equal((await send('POST', '/entities/a/events', acme, one())).status, 201);
      const refused = await inject('POST', '/entities/a/events', acme, one());
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(
        [refused.json().quota, refused.json().limit, refused.json().used, refused.json().reset_at],
        ['max_storage_bytes', 20, 18, null],
      );
      assert.equal(refused.headers['retry-after'], undefined);
    });

    it('counts every event read toward queries per hour, refusing past the limit', async (t) => {
      const { send, setQuotas, inject, acme, keyFor } = await setUp(t);
      await send('POST', '/entities/a/events', acme, one());
      await setQuotas('acme', { max_queries_per_hour: 4 });
      for (const path of [
        '/events/query',
        '/entities/a/events',
        '/entities',
        '/entities/a/state',
      ]) {
        assert.equal((await send('GET', path, acme)).status, 200, path);
      }
      const before = Date.now();
      const refused = await inject('GET', '/events/query', acme);
      assert.equal(refused.statusCode, 429);
      const resetAt = before - (before % HOUR) + HOUR;
      assert.deepEqual(
        [refused.json().quota, refused.json().limit, refused.json().reset_at],
        ['max_queries_per_hour', 4, new Date(resetAt).toISOString()],
      );
      assert.ok(Number(refused.headers['retry-after']) <= HOUR / 1000);
      assert.equal((await send('GET', '/entities/a/events', acme)).status, 429);
      // Appends are not queries; a malformed read is refused before it counts.
      assert.equal((await send('POST', '/entities/a/events', acme, one())).status, 201);
      assert.equal((await send('GET', '/events/query?limit=0', acme)).status, 400);
      assert.equal((await send('GET', '/events/query', await keyFor('globex'))).status, 200);
      await setQuotas('acme', { max_queries_per_hour: 5 });
      assert.equal((await send('GET', '/events/query', acme)).status, 200);
    });

    it('keeps live API keys within the limit under concurrent creates', async (t) => {
      const { send, setQuotas, acme } = await setUp(t);
      await setQuotas('acme', { max_api_keys: 4 });
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          send('POST', '/auth/api-keys', acme, { name: `k${i}`, role: 'viewer' }),
        ),
      );
      // The admin key of the fixture is the first of the four.
      assert.equal(replies.filter((reply) => reply.status === 201).length, 3);
      const refused = replies.find((reply) => reply.status === 429);
      assert.deepEqual(
        [refused?.body.quota, refused?.body.limit, refused?.body.used, refused?.body.reset_at],
        ['max_api_keys', 4, 4, null],
      );
      const keys = (await send('GET', '/auth/api-keys', acme)).body.api_keys as {
        id: string;
        name: string;
      }[];
      assert.equal(keys.length, 4);
      // Not the fixture's own admin key, which the requests use.
      const revoked = keys.find((key) => key.name.startsWith('k')) as { id: string };
      assert.equal((await send('DELETE', `/auth/api-keys/${revoked.id}`, acme)).status, 204);
      assert.equal(
        (await send('POST', '/auth/api-keys', acme, { name: 'again', role: 'viewer' })).status,
        201,
      );
      assert.equal(
        (await send('POST', '/auth/api-keys', acme, { name: 'over', role: 'viewer' })).status,
        429,
      );
    });

    it('applies a plan change at once to quotas that follow the plan', async (t) => {
      const { send, platform, keyFor } = await setUp(t);
      await send('POST', '/tenants', platform, { id: 'initech', name: 'Initech', plan: 'free' });
      const admin = await keyFor('initech');
      const create = (name: string) =>
        send('POST', '/auth/api-keys', admin, { name, role: 'viewer' });
      assert.equal((await create('second')).status, 201);
      assert.equal((await create('third')).body.limit, PRESETS.free.max_api_keys);
      await send('PATCH', '/tenants/initech', platform, { plan: 'professional' });
      assert.equal((await create('third')).status, 201);
    });

    it('records a refusal in the audit trail once per quota and window, not per request', async (t) => {
      const { send, setQuotas, acme } = await setUp(t);
      await setQuotas('acme', { max_events_per_day: 1, max_queries_per_hour: 1 });
      await send('POST', '/entities/a/events', acme, one());
      for (let i = 0; i < 5; i++) {
        assert.equal((await send('POST', '/entities/a/events', acme, one())).status, 429);
        await send('GET', '/events/query', acme);
      }
      const audit = await send('GET', '/audit?action=quota.exceeded&order=asc', acme);
      const entries = (audit.body.events as { payload: Record<string, unknown> }[]).map(
        (e) => e.payload,
      );
      assert.deepEqual(
        entries.map((entry) => [
          entry.outcome,
          entry.target,
          (entry.details as { quota: string }).quota,
        ]),
        [
          ['failure', 'tenant:acme', 'max_events_per_day'],
          ['failure', 'tenant:acme', 'max_queries_per_hour'],
        ],
      );
    });

    it('treats 0 as unlimited', async (t) => {
      const { send, setQuotas, acme } = await setUp(t);
      await setQuotas('acme', {});
      const big = { events: Array.from({ length: 100 }, (_, n) => one(n).events[0]) };
      for (let i = 0; i < 3; i++) {
        assert.equal((await send('POST', '/entities/a/events', acme, big)).status, 201);
        assert.equal((await send('GET', '/events/query', acme)).status, 200);
      }
    });
  });
}
