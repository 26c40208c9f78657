import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';

const PASSWORD = 'correct horse battery staple';

for (const engine of testEngines()) {
  describe(`tessera tenant, beside a running server (${engine})`, () => {
    it('creates, lists, shows, suspends, activates and deletes, and the server follows at once', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const tessera = (args: string[], stdin?: string) =>
        runAdminCli(test.config.storage, ['tenant', ...args], { stdin });

      const created = jsonOf(
        await tessera(
          [
            'create',
            '--id',
            'initech',
            '--name',
            'Initech',
            '--admin-email',
            'boss@initech.test',
            '--json',
          ],
          `${PASSWORD}\n`,
        ),
      );
      assert.equal(created.id, 'initech');
      assert.equal(created.status, 'active');
      const boss = await test.login('boss@initech.test', PASSWORD, 'initech');
      assert.equal((await test.send('GET', '/stats', boss)).status, 200);

      const listed = jsonOf<{ id: string }[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        listed.map((tenant) => tenant.id),
        ['initech', 'system'],
      );
      const text = await tessera(['list']);
      assert.match(text.stdout, /^ID\s+NAME\s+PLAN\s+STATUS/);
      assert.match(text.stdout, /initech\s+Initech\s+free\s+active/);
      assert.match((await tessera(['show', 'initech'])).stdout, /^id:\s+initech$/m);

      const key = await test.keyFor('initech', 'viewer');
      assert.equal((await test.send('GET', '/stats', key)).status, 200);
      // The server hears of another process's change through the database: at once on
      // SQLite (the file's data version), within milliseconds on PostgreSQL (NOTIFY).
      const statusBecomes = (status: number) =>
        until(async () => (await test.send('GET', '/stats', key)).status === status, `${status}`);
      assert.equal(jsonOf(await tessera(['deactivate', 'initech', '--json'])).status, 'suspended');
      await statusBecomes(403);
      assert.equal((await test.send('GET', '/stats', key)).body.code, 'tenant_suspended');
      assert.equal((await tessera(['activate', 'initech'])).code, 0);
      await statusBecomes(200);
      assert.equal((await tessera(['delete', 'initech'])).stdout, 'deleted initech\n');
      await statusBecomes(401);

      // Audited with the CLI as the actor, in the tenant's trail and the platform's.
      const trail = await test.send('GET', '/audit?order=asc&actor=cli', test.platform);
      const actions = (
        trail.body.events as { payload: { action: string; actor_type: string } }[]
      ).map((event) => `${event.payload.actor_type}:${event.payload.action}`);
      assert.deepEqual(actions, [
        'cli:tenant.created',
        'cli:tenant.suspended',
        'cli:tenant.activated',
        'cli:tenant.deleted',
      ]);
    });

    it('exits 2 on bad input and 1 on a refused operation, changing nothing', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['tenant', ...args]);
      const badId = await tessera(['create', '--id', 'Not A Slug', '--name', 'x']);
      assert.equal(badId.code, 2, badId.stderr);
      assert.match(badId.stderr, /tenant id/i);
      const missing = await tessera(['show', 'nope']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no tenant has the id nope/);
      assert.equal((await tessera(['create', '--name', 'x'])).code, 2);
      assert.equal((await tessera(['deactivate', 'system'])).code, 1);
      const listed = jsonOf<{ id: string }[]>(await tessera(['list', '--json']));
      assert.deepEqual(
        listed.map((tenant) => tenant.id),
        ['system'],
      );
    });

    it('shows and sets quotas, which the running server enforces, and shows usage', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['tenant', ...args]);
      const shown = jsonOf(await tessera(['quotas', 'acme', '--json']));
      assert.equal(shown.source, 'plan');
      const set = jsonOf(
        await tessera([
          'quotas',
          'acme',
          '--set',
          'max_api_keys=2',
          '--set',
          'max_webhooks=5',
          '--json',
        ]),
      );
      assert.deepEqual([set.max_api_keys, set.max_webhooks], [2, 5]);
      assert.equal(set.max_events_per_day, shown.max_events_per_day, 'the others are kept');
      const admin = await test.keyFor('acme', 'admin');
      await until(async () => {
        const reply = await test.send('POST', '/auth/api-keys', admin, {
          name: 'k',
          role: 'viewer',
        });
        return reply.status === 429 && reply.body.quota === 'max_api_keys';
      }, 'the quota is enforced');
      const stats = jsonOf<{ usage: { api_keys: { used: number; limit: number } } }>(
        await tessera(['stats', 'acme', '--json']),
      );
      assert.deepEqual([stats.usage.api_keys.used, stats.usage.api_keys.limit], [2, 2]);
      const table = (await tessera(['stats', 'acme'])).stdout;
      assert.match(table, /^api_keys\s+2\s+2/m);
      assert.match(table, /^webhooks\s+0\s+5/m);
      assert.equal(
        jsonOf(await tessera(['quotas', 'acme', '--preset', 'professional', '--json']))
          .max_api_keys,
        25,
      );
      assert.equal(
        jsonOf(await tessera(['quotas', 'acme', '--follow-plan', '--json'])).source,
        'plan',
      );

      for (const args of [
        ['quotas', 'acme', '--set', 'max_widgets=1'],
        ['quotas', 'acme', '--set', 'max_api_keys=-1'],
        ['quotas', 'acme', '--preset', 'gold'],
        ['quotas', 'acme', '--preset', 'free', '--follow-plan'],
      ]) {
        assert.equal((await tessera(args)).code, 2, args.join(' '));
      }
      assert.equal((await tessera(['quotas', 'nope'])).code, 1);
      const trail = await test.send(
        'GET',
        '/audit?action=quota.updated&order=asc',
        await test.keyFor('acme', 'auditor'),
      );
      assert.deepEqual(
        (trail.body.events as { payload: { actor: string } }[]).map((e) => e.payload.actor),
        ['cli', 'cli', 'cli'],
      );
    });
  });
}
