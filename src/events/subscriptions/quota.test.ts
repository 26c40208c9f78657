import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { refusedUpgrade } from '../../../test/helpers/ws-client.ts';
import { CLI_AUDIT_CONTEXT } from '../../access/audit-context.ts';
import { PRESETS } from '../../tenancy/quotas/quotas.ts';

for (const engine of testEngines()) {
  describe(`subscriptions and the queries-per-hour quota (${engine})`, () => {
    it('counts opening a subscription as a query and refuses it, before any upgrade, when used up', async (t) => {
      // Every request without credentials acts with an admin key of `acme`.
      const test = await buildTestApp({}, engine, { actAs: 'acme' });
      t.after(() => test.close());
      await test.services.tenancy.quotas.set(CLI_AUDIT_CONTEXT, 'acme', {
        ...PRESETS.unlimited,
        max_queries_per_hour: 1,
      });
      const base = `${await test.app.listen({ host: '127.0.0.1', port: 0 })}/api/v1`;
      assert.equal((await fetch(`${base}/events/query`)).status, 200);

      const sse = await fetch(`${base}/events/subscribe`);
      assert.equal(sse.status, 429);
      assert.match(sse.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await sse.json()) as { quota: string }).quota, 'max_queries_per_hour');
      const ws = await refusedUpgrade(`${base.replace('http', 'ws')}/events/stream`);
      assert.deepEqual([ws.status, ws.body.code], [429, 'quota_exceeded']);
    });
  });
}
