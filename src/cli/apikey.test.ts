import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';

for (const engine of testEngines()) {
  describe(`tessera apikey, beside a running server (${engine})`, () => {
    it('creates a key the server accepts, lists it, and revokes it at once', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['apikey', ...args]);
      const created = await tessera([
        'create',
        '--tenant',
        'acme',
        '--name',
        'ingest',
        '--role',
        'service',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const secret = created.stdout.trim();
      assert.match(secret, /^tsk_/);
      const key = { key: secret };
      assert.equal(
        (
          await test.send('POST', '/entities/e/events', key, {
            events: [{ event_type: 'a', payload: 1 }],
          })
        ).status,
        201,
      );

      type Listed = {
        id: string;
        name: string;
        role: string;
        revoked_at: string | null;
        key?: string;
      };
      const listed = jsonOf<Listed[]>(await tessera(['list', '--tenant', 'acme', '--json']));
      const ingest = listed.find((k) => k.name === 'ingest');
      assert.equal(ingest?.role, 'service');
      assert.equal(ingest?.key, undefined, 'a listing never shows a secret');
      assert.match((await tessera(['list', '--tenant', 'acme'])).stdout, /^ID\s+NAME\s+ROLE/);

      assert.equal(
        (await tessera(['revoke', '--tenant', 'acme', String(ingest?.id)])).stdout,
        `revoked ${ingest?.id}\n`,
      );
      await until(
        async () => (await test.send('GET', '/stats', key)).status === 401,
        'the key is refused',
      );

      const trail = await test.send(
        'GET',
        '/audit?order=asc&actor=cli',
        await test.keyFor('acme', 'auditor'),
      );
      assert.deepEqual(
        (trail.body.events as { payload: { action: string; target: string } }[]).map((e) => [
          e.payload.action,
          e.payload.target,
        ]),
        [
          ['api_key.created', `api_key:${ingest?.id}`],
          ['api_key.revoked', `api_key:${ingest?.id}`],
        ],
      );
    });

    it('refuses bad input with exit 2 and missing things with exit 1, creating nothing', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await test.keyFor('acme');
      const tessera = (args: string[]) => runAdminCli(test.config.storage, ['apikey', ...args]);
      const cases: [string[], number, RegExp][] = [
        [['create', '--tenant', 'acme', '--name', 'x', '--role', 'root'], 2, /unknown role/],
        [
          ['create', '--tenant', 'acme', '--name', 'x', '--role', 'viewer', '--expires', 'soon'],
          2,
          /expires_at|future/,
        ],
        [['create', '--tenant', 'acme', '--name', 'x'], 2, /--role/],
        [
          ['create', '--tenant', 'nope', '--name', 'x', '--role', 'viewer'],
          1,
          /no tenant has the id nope/,
        ],
        [['revoke', '--tenant', 'acme', 'missing-id'], 1, /no live API key/],
      ];
      for (const [args, code, message] of cases) {
        const run = await tessera(args);
        assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message);
      }
      const listed = jsonOf<{ name: string }[]>(
        await tessera(['list', '--tenant', 'acme', '--json']),
      );
      assert.deepEqual(
        listed.map((k) => k.name).filter((n) => n === 'x'),
        [],
      );
    });
  });
}
