import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import {
  type LockoutTestApp,
  lockoutTestApp,
  PASSWORD,
} from '../../test/helpers/lockout-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

/** The CLI with the test servers' lockout settings (it reads its own configuration). */
function cli(test: LockoutTestApp) {
  return (args: string[]) =>
    runAdminCli(test.config.storage, ['lockout', ...args], {
      env: { TESSERA_LOCKOUT_MAX_FAILURES: String(test.config.lockout.max_failures) },
    });
}

async function lockOut(test: LockoutTestApp, email: string, ip: string): Promise<void> {
  for (let i = 0; i < 3; i++) await test.attempt(email, 'wrong', ip);
}

for (const engine of testEngines()) {
  describe(`tessera lockout, beside a running server (${engine})`, () => {
    it('lists locks of every tenant or one, and slowed IPs', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const ada = await test.member('ada@acme.test', 'acme');
      const gus = await test.member('gus@globex.test', 'globex');
      await lockOut(test, 'ada@acme.test', '192.0.2.1');
      await lockOut(test, 'gus@globex.test', '192.0.2.1');
      const tessera = cli(test);

      type Locked = { user_id: string; email: string };
      const all = jsonOf<Locked[]>(await tessera(['list', '--json']));
      assert.deepEqual(all.map((l) => l.user_id).sort(), [ada, gus].sort());
      const acme = jsonOf<Locked[]>(await tessera(['list', '--tenant', 'acme', '--json']));
      assert.deepEqual(
        acme.map((l) => l.email),
        ['ada@acme.test'],
      );
      assert.match((await tessera(['list'])).stdout, /^USER_ID\s+EMAIL\s+LOCKED_AT\s+LOCKED_UNTIL/);

      const ips = jsonOf<{ ip: string; failures: number }[]>(
        await tessera(['list', '--ips', '--json']),
      );
      assert.deepEqual(
        ips.map(({ ip, failures }) => ({ ip, failures })),
        [{ ip: '192.0.2.1', failures: 6 }],
      );

      const missing = await tessera(['list', '--tenant', 'nope']);
      assert.equal(missing.code, 1);
    });

    it('clears a lock by email and an IP, audited as the cli', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const ada = await test.member('ada@acme.test', 'acme');
      await lockOut(test, 'ada@acme.test', '192.0.2.1');
      const tessera = cli(test);

      const cleared = await tessera(['clear', '--user', 'ada@acme.test']);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.equal(cleared.stdout, `unlocked ${ada}\n`);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD, '192.0.2.9')).statusCode, 200);
      const again = await tessera(['clear', '--user', ada]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /No account you administer with that id is locked/);

      assert.deepEqual(jsonOf(await tessera(['clear', '--ip', '192.0.2.1', '--json'])), {
        cleared: '192.0.2.1',
      });
      const trail = await test.send(
        'GET',
        '/audit?action=account.unlocked',
        await test.keyFor('acme'),
      );
      const [event] = trail.body.events as { payload: Record<string, unknown> }[];
      assert.equal(event?.payload.actor_type, 'cli');
      assert.equal(event?.payload.target, `user:${ada}`);
      const ipTrail = await test.send(
        'GET',
        '/audit?action=login_ip.cleared&actor=cli',
        test.platform,
      );
      assert.equal((ipTrail.body.events as unknown[]).length, 1);
    });

    it('refuses bad usage with exit code 2', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const tessera = cli(test);
      assert.equal((await tessera(['clear'])).code, 2);
      assert.equal((await tessera(['clear', '--user', 'a@b.test', '--ip', '192.0.2.1'])).code, 2);
      assert.equal((await tessera(['clear', '--ip', 'not-an-ip'])).code, 2);
      assert.equal((await tessera(['list', '--limit', '0'])).code, 2);
      assert.equal((await tessera(['clear', '--user', 'nobody@acme.test'])).code, 1);
    });
  });
}
