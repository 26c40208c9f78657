import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { Command, CommanderError } from 'commander';
import { testEngines, testStorageConfig } from '../../test/helpers/test-database.ts';
import { MASTER_KEY_FILE } from '../identity/tokens/master-key.ts';
import { createUserStore } from '../identity/users/user-store.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { openDatabase } from '../storage/open-database.ts';
import { createMembershipStore } from '../tenancy/memberships/membership-store.ts';
import { createTenantRegistry } from '../tenancy/tenants/tenant-registry.ts';
import { type CliIo, readPassword, registerUserCommands } from './user.ts';

const PASSWORD = 'correct horse battery staple';

function io(stdinText: string, env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const streams: CliIo = {
    env,
    stdin: Readable.from([stdinText]),
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
  };
  return { io: streams, out };
}

/** Runs `tessera user ...` in-process like runCli does, resolving to the exit code. */
async function runUser(args: string[], streams: CliIo): Promise<number> {
  const program = new Command('tessera')
    .exitOverride()
    .configureOutput({ writeErr: (text) => streams.stderr.write(text) });
  registerUserCommands(program, streams);
  try {
    await program.parseAsync(['user', ...args], { from: 'user' });
    return 0;
  } catch (error) {
    // As runCli: commander's own usage errors carry exit code 1 but mean bad usage.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    streams.stderr.write(`tessera: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

describe('readPassword', () => {
  it('takes TESSERA_ADMIN_PASSWORD first, else the first line of stdin as typed', async () => {
    assert.equal(
      await readPassword(io('from stdin\n', { TESSERA_ADMIN_PASSWORD: 'env' }).io),
      'env',
    );
    assert.equal(await readPassword(io('  spaced out \r\nsecond line\n').io), '  spaced out ');
    assert.equal(await readPassword(io('no newline').io), 'no newline');
    assert.equal(await readPassword(io('').io), '');
  });
});

for (const engine of testEngines()) {
  describe(`tessera user create (${engine})`, () => {
    async function setUp(t: TestContext) {
      const target = await testStorageConfig(engine);
      t.after(() => target.cleanup());
      const db = await openDatabase(target.storage);
      t.after(() => db.close());
      await migrateToLatest(db, MIGRATIONS);
      await createTenantRegistry(db).create({ id: 'acme', name: 'Acme', plan: 'free' });
      const configFile = join(target.storage.data_dir, 'tessera.toml');
      writeFileSync(
        configFile,
        `[storage]\ndata_dir = ${JSON.stringify(target.storage.data_dir)}\ndatabase_url = ${JSON.stringify(target.storage.database_url)}\n`,
      );
      return { db, config: ['--config', configFile], dataDir: target.storage.data_dir };
    }

    it('creates a platform administrator and prints its id', async (t) => {
      const { db, config, dataDir } = await setUp(t);
      const { io: streams, out } = io(`${PASSWORD}\n`);
      const args = ['create', '--email', 'root@example.com', '--platform-admin', ...config];
      assert.equal(await runUser(args, streams), 0, out.stderr);
      const id = out.stdout.trim();
      assert.equal((await createUserStore(db).findByEmail('root@example.com'))?.id, id);
      assert.deepEqual(await createMembershipStore(db).rolesOf('system', id), ['admin']);
      // Creating a user signs nothing: the master key is neither needed nor created.
      assert.equal(existsSync(join(dataDir, MASTER_KEY_FILE)), false);
    });

    it('grants roles in a tenant, the password coming from the environment', async (t) => {
      const { db, config } = await setUp(t);
      const { io: streams, out } = io('', { TESSERA_ADMIN_PASSWORD: PASSWORD });
      const args = [
        'create',
        '--email',
        'dev@example.com',
        '--tenant',
        'acme',
        '--role',
        'developer,viewer',
        ...config,
      ];
      assert.equal(await runUser(args, streams), 0, out.stderr);
      const roles = await createMembershipStore(db).rolesOf('acme', out.stdout.trim());
      assert.deepEqual(roles, ['developer', 'viewer']);
    });

    it('exits 2 with a clear message on bad input', async (t) => {
      const { config } = await setUp(t);
      const cases: [string[], string, RegExp][] = [
        [
          ['--email', 'a@example.com', '--tenant', 'nope', '--role', 'viewer'],
          PASSWORD,
          /no tenant has the id nope/,
        ],
        [
          ['--email', 'a@example.com', '--tenant', 'acme', '--role', 'root'],
          PASSWORD,
          /unknown role "root"/,
        ],
        [
          ['--email', 'a@example.com', '--tenant', 'acme'],
          PASSWORD,
          /--tenant and --role go together/,
        ],
        [['--email', 'a@example.com'], 'short', /password must be at least 8 characters/],
        [['--email', 'a@example.com'], '', /no password: write it as one line on stdin/],
        [['--email', 'nobody'], PASSWORD, /"nobody" is not an email address/],
        [[], PASSWORD, /required option '--email <email>'/],
      ];
      for (const [args, password, message] of cases) {
        const { io: streams, out } = io(`${password}\n`);
        assert.equal(
          await runUser(['create', ...args, ...config], streams),
          2,
          `${args.join(' ')}: ${out.stderr}`,
        );
        assert.match(out.stderr, message);
        assert.equal(out.stdout, '');
      }
      const { io: first } = io(`${PASSWORD}\n`);
      assert.equal(await runUser(['create', '--email', 'a@example.com', ...config], first), 0);
      const { io: second, out } = io(`${PASSWORD}\n`);
      assert.equal(await runUser(['create', '--email', 'A@example.com', ...config], second), 2);
      assert.match(out.stderr, /a@example.com is already registered/);
    });
  });
}
