import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`tessera keys list and rotate, beside a running server (${engine})`, () => {
    it('lists the keys by state and audits a rotation', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await test.services.identity.keys.ensureKey();
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['keys', ...args]);
      type Key = { kid: string; state: string; retired_at: string | null };
      const [first] = jsonOf<Key[]>(await tessera(['list', '--json']));
      assert.equal(first?.state, 'signing');
      const rotated = await tessera(['rotate']);
      assert.equal(rotated.code, 0, rotated.stderr);
      const keys = jsonOf<Key[]>(await tessera(['list', '--json']));
      // The new key is published ahead (auth.key_publish_ahead_seconds) before it signs.
      assert.deepEqual(
        keys.map((key) => key.state),
        ['next', 'signing'],
      );
      assert.equal(keys[1]?.kid, first?.kid);
      assert.match((await tessera(['list'])).stdout, /^KID\s+ALGORITHM\s+STATE/);
      const trail = await test.send('GET', '/audit?action=signing_key.rotated', test.platform);
      const [event] = trail.body.events as { payload: Record<string, unknown> }[];
      assert.equal(event?.payload.actor, 'cli');
      assert.equal(event?.payload.target, `signing_key:${keys[0]?.kid}`);
    });
  });
}

for (const engine of testEngines()) {
  describe(`tessera stats (${engine})`, () => {
    it('adds up what every tenant stores', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const key = await test.keyFor('acme', 'admin');
      const event = { event_type: 'thing.happened', payload: { n: 1 } };
      await test.send('POST', '/entities/a/events', key, { events: [event, event] });
      await test.send('POST', '/entities/b/events', key, { events: [event] });
      const run = await runAdminCli(test.config.storage, ['stats', '--json']);
      const stats = jsonOf<{
        head_position: number;
        totals: Record<string, number>;
        tenants: { tenant: string; events: number }[];
      }>(run);
      assert.equal(stats.totals.events, 3);
      assert.equal(stats.totals.entities, 2);
      assert.ok(stats.head_position >= 3);
      assert.deepEqual(
        stats.tenants.map((row) => [row.tenant, row.events]),
        [
          ['acme', 3],
          ['system', 0],
        ],
      );
      const text = await runAdminCli(test.config.storage, ['stats']);
      assert.match(text.stdout, /^TOTAL\s+3\s+2\s+1\s+\d+$/m);
    });
  });
}
