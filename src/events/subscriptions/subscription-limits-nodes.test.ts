import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../../../test/helpers/app.ts';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { startNodes } from '../../../test/helpers/nodes.ts';
import { openSse, type SseClient } from '../../../test/helpers/sse-client.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';

for (const engine of testEngines()) {
  describe(`a tenant's subscription cap across nodes sharing Redis, on ${engine}`, () => {
    it('holds across nodes, and a closed stream frees its slot for every node', async (t) => {
      const url = testRedisUrl(t);
      if (!url) return;
      const redis = new Redis(url);
      const nodes = await startNodes(
        t,
        engine,
        2,
        { subscriptions: { unlimited_max_per_tenant: 2 } },
        { deps: () => ({ redis }) },
      );
      // After the nodes have closed (hooks run in order), whose last releases use it.
      t.after(() => redis.quit());
      // A tenant of this run's own: the shared Redis outlives the test.
      const tenantId = `caps-${randomBytes(6).toString('hex')}`;
      const keys = [] as string[];
      for (let i = 0; i < 3; i++)
        keys.push(await apiKeyFor(nodes[0]!.services, tenantId, 'viewer'));
      const bases = [] as string[];
      for (const node of nodes) {
        bases.push(
          `${await node.app.listen({ host: '127.0.0.1', port: 0 })}/api/v1/events/subscribe`,
        );
      }
      const open: SseClient[] = [];
      t.after(() => {
        for (const client of open) client.close();
      });
      const subscribe = async (node: number, key: number) => {
        const client = await openSse(bases[node] as string, { 'x-api-key': keys[key] as string });
        open.push(client);
        return client;
      };

      assert.equal((await subscribe(0, 0)).status, 200);
      assert.equal((await subscribe(1, 1)).status, 200);
      for (const node of [0, 1]) {
        const refused = await subscribe(node, 2);
        assert.equal(refused.status, 429, `node ${node}`);
        const frame = await refused.next();
        assert.equal(frame, undefined, 'a refusal is no stream');
      }
      const slots = `tessera:subscriptions:tenant:${tenantId}`;
      assert.equal(await redis.zcard(slots), 2);

      open[0]?.close();
      await until(async () => (await redis.zcard(slots)) === 1, 'the closed stream frees its slot');
      assert.equal((await subscribe(1, 2)).status, 200);
    });
  });
}
