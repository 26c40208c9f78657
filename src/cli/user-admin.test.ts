import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import type { Credential } from '../../test/helpers/tenancy-fixture.ts';
import {
  PASSWORD,
  type UsersTestApp,
  usersTestApp,
} from '../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { until } from '../../test/helpers/until.ts';

type Json = Record<string, unknown>;
const NEW_PASSWORD = 'a brand new passphrase';

function cli(test: UsersTestApp) {
  return (args: string[], stdin?: string) =>
    runAdminCli(test.config.storage, ['user', ...args], { stdin });
}

/** Waits until the running server answers `status` to `GET /auth/me` with `as`. */
const meBecomes = (test: UsersTestApp, as: Credential, status: number) =>
  until(async () => (await test.send('GET', '/auth/me', as)).status === status, `/me ${status}`);

const canLogIn = async (test: UsersTestApp, email: string, password: string, tenant: string) =>
  (await test.send('POST', '/auth/login', null, { email, password, tenant_id: tenant })).status ===
  200;

for (const engine of testEngines()) {
  describe(`tessera user, beside a running server (${engine})`, () => {
    it('lists and shows the users of a tenant, as text and as JSON', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      const ada = await test.member('acme', 'ada@example.com', ['admin']);
      await test.member('acme', 'bob@example.com', ['developer']);
      await test.member('beta', 'cy@example.com', ['viewer']);
      const emails = async (...args: string[]) =>
        jsonOf<Json[]>(await tessera(['list', '--tenant', 'acme', '--json', ...args]))
          .map((user) => user.email)
          .sort();
      assert.deepEqual(await emails(), ['ada@example.com', 'bob@example.com']);
      assert.deepEqual(await emails('--role', 'developer'), ['bob@example.com']);
      assert.deepEqual(await emails('--q', 'ADA'), ['ada@example.com']);
      assert.deepEqual(await emails('--status', 'deactivated'), []);
      assert.deepEqual(await emails('--limit', '1'), [
        jsonOf<Json[]>(await tessera(['list', '--tenant', 'acme', '--json']))[0]?.email,
      ]);
      const text = await tessera(['list', '--tenant', 'acme']);
      assert.match(text.stdout, /^ID\s+EMAIL\s+NAME\s+ROLES\s+STATUS\s+JOINED_AT$/m);
      assert.match(text.stdout, /bob@example\.com\s+-\s+developer\s+active/);
      const shown = await tessera(['show', '--tenant', 'acme', 'ada@example.com']);
      assert.match(shown.stdout, /^id:\s+\S+$/m);
      assert.match(shown.stdout, /^roles:\s+admin$/m);
      const json = jsonOf(await tessera(['show', '--tenant', 'acme', ada.id, '--json']));
      assert.equal(json.email, 'ada@example.com');
      assert.ok(!('password_hash' in json));
    });

    it('audits user create with the CLI as actor, in system for a user of no tenant', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      await test.keyFor('acme');
      const args = ['create', '--email', 'dev@example.com', '--tenant', 'acme', '--role', 'viewer'];
      const dev = (await tessera(args, `${PASSWORD}\n`)).stdout.trim();
      await test.login('dev@example.com', PASSWORD, 'acme');
      const loner = (await tessera(['create', '--email', 'lo@example.com'], `${PASSWORD}\n`))
        .stdout;
      const [inAcme] = await test.audit('acme', 'user.created');
      assert.deepEqual(
        [inAcme?.actor, inAcme?.target, inAcme?.details],
        ['cli', `user:${dev}`, { email: 'dev@example.com', roles: ['viewer'] }],
      );
      const trail = await test.send('GET', '/audit?action=user.created', test.platform);
      const [inSystem] = trail.body.events as { payload: Json }[];
      assert.equal(inSystem?.payload.target, `user:${loner.trim()}`);
      assert.equal(inSystem?.payload.actor, 'cli');
    });

    it('deactivates, activates, sets roles and deletes, and the server follows at once', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      await test.member('acme', 'ada@example.com', ['admin']);
      const bob = await test.member('acme', 'bob@example.com', ['developer']);
      await test.keyFor('beta');
      await test.services.tenancy.memberships.grant('beta', bob.id, ['viewer']);

      const off = jsonOf(await tessera(['deactivate', '--tenant', 'acme', bob.id, '--json']));
      assert.equal(off.status, 'deactivated');
      await meBecomes(test, bob.token, 401);
      assert.equal(await canLogIn(test, bob.email, PASSWORD, 'acme'), false);
      const on = await tessera(['activate', '--tenant', 'acme', bob.email]);
      assert.match(on.stdout, /^status:\s+active$/m);
      const token = await test.login(bob.email, PASSWORD, 'acme');

      const roles = await tessera(['roles', '--tenant', 'acme', bob.email, 'viewer, auditor']);
      assert.equal(roles.code, 0, roles.stderr);
      assert.match(roles.stdout, /^roles:\s+auditor,viewer$/m);
      // The live token's permissions change with the membership.
      await until(async () => {
        const me = await test.send('GET', '/auth/me', token);
        return JSON.stringify(me.body.roles) === '["auditor","viewer"]';
      }, 'the new roles apply');
      assert.equal((await test.send('GET', '/audit', token)).status, 200);

      const removed = await tessera(['delete', '--tenant', 'acme', bob.id]);
      assert.equal(removed.stdout, `removed ${bob.id} from acme\n`);
      await meBecomes(test, token, 401);
      assert.equal(await canLogIn(test, bob.email, PASSWORD, 'beta'), true);
      const erased = jsonOf(await tessera(['delete', '--tenant', 'beta', bob.email, '--json']));
      assert.deepEqual(erased, { removed: bob.id, erased: true });
      assert.equal(await canLogIn(test, bob.email, PASSWORD, 'beta'), false);

      const trail = (await test.audit('acme', 'user.')).filter((e) => e.actor === 'cli');
      assert.deepEqual(
        trail.map((e) => [e.action, e.actor_type, e.target]),
        [
          ['user.deactivated', 'cli', `user:${bob.id}`],
          ['user.activated', 'cli', `user:${bob.id}`],
          ['user.roles_changed', 'cli', `user:${bob.id}`],
          ['user.removed', 'cli', `user:${bob.id}`],
        ],
      );
      assert.deepEqual(trail[2]?.details, { from: ['developer'], to: ['auditor', 'viewer'] });
      const beta = (await test.audit('beta', 'user.')).map((e) => [e.action, e.actor]);
      assert.deepEqual(beta, [
        ['user.removed', 'cli'],
        ['user.erased', 'cli'],
      ]);
    });

    it('exits 2 on bad input and 1 on a refusal, changing nothing', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      const ada = await test.member('acme', 'ada@example.com', ['admin']);
      const cases: [string[], number, RegExp][] = [
        [['roles', '--tenant', 'acme', ada.id, 'viewer'], 1, /last active admin/],
        [['deactivate', '--tenant', 'acme', ada.id], 1, /last active admin/],
        [['delete', '--tenant', 'acme', ada.email], 1, /last active admin/],
        [['roles', '--tenant', 'acme', ada.id, 'admin,root'], 2, /root/],
        [['roles', '--tenant', 'acme', ada.id, ','], 2, /role/],
        [['show', '--tenant', 'acme', 'nobody@example.com'], 1, /no user of this tenant/],
        [['show', '--tenant', 'acme', 'no-such-id'], 1, /no user of this tenant/],
        [['show', '--tenant', 'beta', ada.id], 1, /no tenant has the id beta/],
        [['activate', ada.id], 2, /required option '--tenant <id>'/],
        [['list', '--tenant', 'acme', '--limit', '0'], 2, /1 to 1000/],
        [['list', '--tenant', 'acme', '--status', 'gone'], 2, /Allowed choices/],
      ];
      for (const [args, code, message] of cases) {
        const run = await tessera(args);
        assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message, args.join(' '));
        assert.equal(run.stdout, '');
      }
      const me = await test.send('GET', '/auth/me', ada.token);
      assert.deepEqual(me.body.roles, ['admin']);
      assert.deepEqual(await test.audit('acme', 'user.'), []);
    });

    it('sets a password: the old one and every session die, in every tenant', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      const bob = await test.member('acme', 'bob@example.com', ['developer']);
      await test.keyFor('beta');
      await test.services.tenancy.memberships.grant('beta', bob.id, ['viewer']);
      const inBeta = await test.login(bob.email, PASSWORD, 'beta');

      const refused: [string, number, RegExp][] = [
        ['short\n', 2, /at least 8 characters/],
        ['', 2, /no password/],
      ];
      for (const [stdin, code, message] of refused) {
        const run = await tessera(['set-password', bob.email], stdin);
        assert.equal(run.code, code, run.stderr);
        assert.match(run.stderr, message);
      }
      const unknown = await tessera(['set-password', 'nobody@example.com'], `${NEW_PASSWORD}\n`);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no user has the email nobody@example.com/);
      assert.equal((await test.send('GET', '/auth/me', bob.token)).status, 200);

      const run = await tessera(['set-password', bob.email], `${NEW_PASSWORD}\n`);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'password set for bob@example.com; their sessions have ended\n');
      await meBecomes(test, bob.token, 401);
      await meBecomes(test, inBeta, 401);
      assert.equal(await canLogIn(test, bob.email, PASSWORD, 'acme'), false);
      assert.equal(await canLogIn(test, bob.email, NEW_PASSWORD, 'acme'), true);

      for (const tenant of ['acme', 'beta']) {
        const [event] = await test.audit(tenant, 'user.password_reset');
        assert.deepEqual(
          [event?.actor, event?.actor_type, event?.target, event?.details],
          ['cli', 'cli', `user:${bob.id}`, { email: bob.email }],
        );
      }
    });

    it('audits the password of a user of no tenant in the system trail', async (t) => {
      const test = await usersTestApp(t, engine);
      const id = await test.userWith('loner@example.com', PASSWORD);
      const run = await runAdminCli(
        test.config.storage,
        ['user', 'set-password', 'loner@example.com', '--json'],
        { env: { TESSERA_ADMIN_PASSWORD: NEW_PASSWORD } },
      );
      assert.deepEqual(jsonOf(run), { id, email: 'loner@example.com', audited_in: ['system'] });
      const trail = await test.send('GET', '/audit?action=user.password_reset', test.platform);
      const [event] = trail.body.events as { payload: Json }[];
      assert.equal(event?.payload.target, `user:${id}`);
      assert.equal(event?.payload.actor, 'cli');
    });
  });
}
