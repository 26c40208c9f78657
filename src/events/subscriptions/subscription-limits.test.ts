import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { openSse, type SseClient } from '../../../test/helpers/sse-client.ts';
import { serveSubscriptions } from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs, refusedUpgrade } from '../../../test/helpers/ws-client.ts';

/** A GET of the SSE route that is refused answers at once; read its problem document. */
async function refusedSse(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

for (const engine of testEngines()) {
  describe(`open subscription caps, on ${engine}`, () => {
    it('caps subscriptions per credential and per tenant (by plan), SSE and WebSocket together, with 429 and Retry-After', async (t) => {
      // Test tenants are on the unlimited plan.
      const server = await serveSubscriptions(t, engine, {
        max_per_credential: 2,
        unlimited_max_per_tenant: 3,
      });
      const sse = `${server.baseUrl}/events/subscribe`;
      const ws = `${server.baseUrl.replace(/^http/, 'ws')}/events/stream`;
      const first = { 'x-api-key': await apiKeyFor(server.services, server.tenantId, 'viewer') };
      const second = { 'x-api-key': await apiKeyFor(server.services, server.tenantId, 'viewer') };
      const open: SseClient[] = [];
      t.after(() => {
        for (const client of open) client.close();
      });

      open.push(await openSse(sse, first));
      const socket = await openWs(ws, first);
      t.after(() => socket.close());
      assert.equal(open[0]?.status, 200);
      await until(() => server.stats().live === 2, 'both are live');

      const byCredential = await refusedSse(sse, first);
      assert.equal(byCredential.status, 429);
      assert.equal(byCredential.body.code, 'subscription_limit_reached');
      assert.equal(byCredential.body.scope, 'credential');
      assert.equal(byCredential.body.limit, 2);
      assert.equal(byCredential.headers.get('retry-after'), '5');
      const upgrade = await refusedUpgrade(ws, first);
      assert.equal(upgrade.status, 429);
      assert.equal(upgrade.body.code, 'subscription_limit_reached');
      assert.equal(upgrade.headers['retry-after'], '5');

      // Another key of the same tenant gets one more: the tenant's cap is 3.
      open.push(await openSse(sse, second));
      assert.equal(open[1]?.status, 200);
      const byTenant = await refusedSse(sse, second);
      assert.equal(byTenant.status, 429);
      assert.equal(byTenant.body.scope, 'tenant');
      assert.equal(byTenant.body.limit, 3);
      assert.equal(server.stats().live + server.stats().catching_up, 3, 'refusals opened nothing');

      // A closed stream frees its slot, for its credential and its tenant.
      socket.close();
      await until(
        () => server.stats().live + server.stats().catching_up === 2,
        'the closed WebSocket is forgotten',
      );
      const again = await openWs(ws, first);
      t.after(() => again.close());
      open[0]?.close();
      await until(
        () => server.stats().live + server.stats().catching_up === 2,
        'the closed stream is forgotten',
      );
      open.push(await openSse(sse, second));
      assert.equal(open[2]?.status, 200);
    });
  });
}
