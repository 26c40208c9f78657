import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runAdminCli } from '../../test/helpers/admin-cli.ts';
import { type UsersTestApp, usersTestApp } from '../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

function cli(test: UsersTestApp) {
  return (args: string[]) => runAdminCli(test.config.storage, ['team', ...args]);
}

for (const engine of testEngines()) {
  describe(`tessera team, beside a running server (${engine})`, () => {
    it('creates, lists, shows, renames, fills and deletes a team the server sees', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      const ada = await test.member('acme', 'ada@example.com', ['admin']);
      const bob = await test.member('acme', 'bob@example.com', ['developer']);
      const api = async (id: string) => (await test.send('GET', `/teams/${id}`, ada.token)).body;

      const args = ['--tenant', 'acme', '--name', 'Platform', '--description', 'Runs it all'];
      const team = jsonOf(await tessera(['create', ...args, '--json']));
      const id = team.id as string;
      assert.deepEqual([team.name, team.description], ['Platform', 'Runs it all']);
      assert.equal((await api(id)).name, 'Platform');
      const second = await tessera(['create', '--tenant', 'acme', '--name', 'Ops']);
      assert.match(second.stdout, /^name:\s+Ops$/m);

      const names = jsonOf<Json[]>(await tessera(['list', '--tenant', 'acme', '--json']));
      assert.deepEqual(
        names.map((row) => row.name),
        ['Ops', 'Platform'],
      );
      const text = await tessera(['list', '--tenant', 'acme']);
      assert.match(text.stdout, /^ID\s+NAME\s+DESCRIPTION\s+CREATED_AT\s+UPDATED_AT$/m);
      assert.match(text.stdout, /Platform\s+Runs it all/);

      const added = await tessera(['add', '--tenant', 'acme', id, bob.email]);
      assert.equal(added.stdout, `added ${bob.id} to ${id}\n`);
      const again = jsonOf(await tessera(['add', '--tenant', 'acme', id, bob.id, '--json']));
      assert.deepEqual(again, { team: id, user: bob.id, added: false });
      assert.deepEqual(
        ((await api(id)).members as Json[]).map((member) => member.email),
        [bob.email],
      );
      const inTeam = await runAdminCli(test.config.storage, [
        'user',
        'list',
        '--tenant',
        'acme',
        '--team',
        id,
        '--json',
      ]);
      assert.deepEqual(
        jsonOf<Json[]>(inTeam).map((user) => user.id),
        [bob.id],
      );
      const shown = await tessera(['show', '--tenant', 'acme', id]);
      assert.match(shown.stdout, /^name:\s+Platform$/m);
      assert.match(shown.stdout, /^USER_ID\s+EMAIL\s+NAME$/m);
      assert.match(shown.stdout, new RegExp(`^${bob.id}\\s+bob@example\\.com`, 'm'));
      const json = jsonOf(await tessera(['show', '--tenant', 'acme', id, '--json']));
      assert.deepEqual(json.members, [{ user_id: bob.id, email: bob.email, name: null }]);

      assert.equal((await tessera(['rename', '--tenant', 'acme', id, 'Infra'])).code, 0);
      assert.equal((await api(id)).name, 'Infra');
      const cleared = await tessera(['update', '--tenant', 'acme', id, '--description', '']);
      assert.match(cleared.stdout, /^description:\s+-$/m);
      assert.equal((await api(id)).description, null);

      const out = await tessera(['remove', '--tenant', 'acme', id, bob.id]);
      assert.equal(out.stdout, `removed ${bob.id} from ${id}\n`);
      assert.deepEqual((await api(id)).members, []);
      assert.equal((await tessera(['delete', '--tenant', 'acme', id])).stdout, `deleted ${id}\n`);
      assert.equal((await test.send('GET', `/teams/${id}`, ada.token)).status, 404);

      const trail = (await test.audit('acme', 'team.')).filter((e) => e.target === `team:${id}`);
      assert.deepEqual(
        trail.map((e) => [e.action, e.actor, e.actor_type]),
        [
          ['team.created', 'cli', 'cli'],
          ['team.member_added', 'cli', 'cli'],
          ['team.updated', 'cli', 'cli'],
          ['team.updated', 'cli', 'cli'],
          ['team.member_removed', 'cli', 'cli'],
          ['team.deleted', 'cli', 'cli'],
        ],
      );
    });

    it('exits 2 on bad input and 1 on a refusal, changing nothing', async (t) => {
      const test = await usersTestApp(t, engine);
      const tessera = cli(test);
      const ada = await test.member('acme', 'ada@example.com', ['admin']);
      const outsider = await test.member('beta', 'cy@example.com', ['admin']);
      const team = jsonOf(
        await tessera(['create', '--tenant', 'acme', '--name', 'Core', '--json']),
      );
      const id = team.id as string;
      const before = await test.audit('acme', 'team.');
      const cases: [string[], number, RegExp][] = [
        [['create', '--tenant', 'acme', '--name', 'core'], 1, /name/],
        [['create', '--tenant', 'acme', '--name', ' padded'], 2, /leading or trailing/],
        [['create', '--tenant', 'acme'], 2, /required option '--name <name>'/],
        [['create', '--tenant', 'nope', '--name', 'X'], 1, /no tenant has the id nope/],
        [['update', '--tenant', 'acme', id], 2, /--name, --description or both/],
        [['rename', '--tenant', 'acme', 'no-such-team', 'X'], 1, /no team has the id/],
        [['show', '--tenant', 'beta', id], 1, /no team has the id/],
        [['add', '--tenant', 'acme', id, outsider.id], 1, /no member of this tenant/],
        [['add', '--tenant', 'acme', id, 'nobody@example.com'], 1, /no user of this tenant/],
        [['remove', '--tenant', 'acme', id, ada.id], 1, /is not in team/],
        [['delete', '--tenant', 'beta', id], 1, /no team has the id/],
        [['list', '--tenant', 'acme', '--limit', 'many'], 2, /1 to 1000/],
      ];
      for (const [args, code, message] of cases) {
        const run = await tessera(args);
        assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message, args.join(' '));
        assert.equal(run.stdout, '');
      }
      const names = jsonOf<Json[]>(await tessera(['list', '--tenant', 'acme', '--json']));
      assert.deepEqual(
        names.map((row) => [row.id, row.name]),
        [[id, 'Core']],
      );
      assert.deepEqual((await test.send('GET', `/teams/${id}`, ada.token)).body.members, []);
      assert.deepEqual(await test.audit('acme', 'team.'), before);
    });
  });
}
