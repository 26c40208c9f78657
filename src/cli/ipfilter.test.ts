import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { type IpFilterTestApp, ipFilterTestApp } from '../../test/helpers/ip-filter-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';

interface Entry {
  id: string;
  scope: string;
  tenant_id: string | null;
  cidr: string;
  action: string;
  reason: string;
  created_by: string;
  created_by_type: string;
}

const statusFrom = async (test: IpFilterTestApp, key: string, from: string) =>
  (await test.send('GET', '/api/v1/stats', { key, from })).status;

async function cliTrail(test: IpFilterTestApp, tenant: string) {
  const key = tenant === 'system' ? test.platform : await test.keyFor(tenant, 'auditor');
  const reply = await test.send('GET', '/api/v1/audit?order=asc&actor=cli', { key });
  return (reply.body.events as { payload: Record<string, unknown> }[]).map((e) => e.payload);
}

for (const engine of testEngines()) {
  describe(`tessera ipfilter, beside a running server (${engine})`, () => {
    it('adds entries the server applies at once, lists them, and removes them', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['ipfilter', ...args]);
      assert.equal(await statusFrom(test, acme, '192.0.2.7'), 200);

      const added = jsonOf<Entry>(
        await tessera([
          'add',
          '192.0.2.0/24',
          '--action',
          'block',
          '--reason',
          'scanner',
          '--tenant',
          'acme',
          '--json',
        ]),
      );
      assert.equal(added.cidr, '192.0.2.0/24');
      assert.equal(added.created_by, 'cli');
      assert.equal(added.created_by_type, 'cli');
      // SQLite: the server's next request sees the file's data version move;
      // PostgreSQL: the trigger's notification reaches the server's listener.
      await until(
        async () => (await statusFrom(test, acme, '192.0.2.7')) === 403,
        'the server applies the CLI change',
      );

      const global = jsonOf<Entry>(
        await tessera([
          'add',
          '2001:db8::/32',
          '--action',
          'block',
          '--reason',
          'r',
          '--global',
          '--json',
        ]),
      );
      assert.equal(global.scope, 'global');
      await until(
        async () => (await statusFrom(test, acme, '2001:db8::1')) === 403,
        'the server applies the global entry',
      );

      const tenantList = jsonOf<Entry[]>(await tessera(['list', '--tenant', 'acme', '--json']));
      assert.deepEqual(
        tenantList.map((e) => e.id),
        [added.id],
      );
      const globalList = jsonOf<Entry[]>(await tessera(['list', '--global', '--json']));
      assert.deepEqual(
        globalList.map((e) => e.id),
        [global.id],
      );
      const text = await tessera(['list', '--tenant', 'acme']);
      assert.match(text.stdout, /^ID\s+SCOPE\s+TENANT_ID\s+CIDR\s+ACTION/);
      assert.match(text.stdout, /192\.0\.2\.0\/24\s+block\s+scanner/);

      const removed = await tessera(['remove', added.id]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, `removed ${added.id} (block 192.0.2.0/24)\n`);
      await until(
        async () => (await statusFrom(test, acme, '192.0.2.7')) === 200,
        'the server drops the removed entry',
      );
      assert.equal((await tessera(['remove', global.id])).code, 0);

      const acmeTrail = await cliTrail(test, 'acme');
      assert.deepEqual(
        acmeTrail.map((e) => [e.action, e.actor_type]),
        [
          ['ip_filter.created', 'cli'],
          ['ip_filter.removed', 'cli'],
        ],
      );
      const systemTrail = await cliTrail(test, 'system');
      assert.deepEqual(
        systemTrail.filter((e) => String(e.action).startsWith('ip_filter.')).map((e) => e.action),
        ['ip_filter.created', 'ip_filter.removed'],
      );
    });

    it('is the way back in after a lockout', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['ipfilter', ...args]);
      // The CLI has no address of its own, so nothing stops it allowing only elsewhere.
      const allow = jsonOf<Entry>(
        await tessera([
          'add',
          '10.0.0.0/8',
          '--action',
          'allow',
          '--reason',
          'office',
          '--tenant',
          'acme',
          '--json',
        ]),
      );
      await until(
        async () => (await statusFrom(test, acme, '192.0.2.1')) === 403,
        'the allow list applies',
      );
      // The admin cannot undo it over HTTP from outside the list...
      const denied = await test.send('DELETE', `/api/v1/ip-filters/${allow.id}`, {
        key: acme,
        from: '192.0.2.1',
      });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.code, 'ip_blocked');
      // ...but the operator can.
      assert.equal((await tessera(['remove', allow.id])).code, 0);
      await until(
        async () => (await statusFrom(test, acme, '192.0.2.1')) === 200,
        'access is back',
      );
    });

    it('refuses bad usage and bad input, changing nothing', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['ipfilter', ...args]);
      const add = (...args: string[]) => tessera(['add', ...args]);

      const noScope = await add('10.0.0.0/8', '--action', 'block', '--reason', 'r');
      assert.equal(noScope.code, 2);
      assert.match(noScope.stderr, /--tenant <id> or --global/);
      const both = await add(
        '10.0.0.0/8',
        '--action',
        'block',
        '--reason',
        'r',
        '--global',
        '--tenant',
        'acme',
      );
      assert.equal(both.code, 2);
      const badAction = await add('10.0.0.0/8', '--action', 'deny', '--reason', 'r', '--global');
      assert.equal(badAction.code, 2);
      assert.match(badAction.stderr, /allow, block/);
      const noReason = await add('10.0.0.0/8', '--action', 'block', '--global');
      assert.equal(noReason.code, 2);
      const badCidr = await add('10.1.2.3/8', '--action', 'block', '--reason', 'r', '--global');
      assert.equal(badCidr.code, 2);
      assert.match(badCidr.stderr, /host bits are set .* 10\.0\.0\.0\/8/);
      const unknownTenant = await add(
        '10.0.0.0/8',
        '--action',
        'block',
        '--reason',
        'r',
        '--tenant',
        'nope',
      );
      assert.equal(unknownTenant.code, 1);
      assert.match(unknownTenant.stderr, /no tenant has the id nope/);
      const unknownId = await tessera(['remove', 'no-such-id']);
      assert.equal(unknownId.code, 1);
      assert.match(unknownId.stderr, /No IP filter/);
      assert.equal((await tessera(['list'])).code, 2);

      assert.deepEqual(jsonOf(await tessera(['list', '--global', '--json'])), []);
      assert.deepEqual(jsonOf(await tessera(['list', '--tenant', 'acme', '--json'])), []);

      assert.equal(
        (await add('10.0.0.0/8', '--action', 'block', '--reason', 'r', '--global')).code,
        0,
      );
      const duplicate = await add('10.0.0.0/8', '--action', 'allow', '--reason', 'r', '--global');
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /already/);
    });
  });
}
