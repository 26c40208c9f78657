import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'smol-toml';
import packageJson from '../../package.json' with { type: 'json' };
import { runCli } from '../../src/cli/program.ts';
import { PROCESS_IO } from '../../src/cli/user.ts';
import { defaultConfig, loadConfig } from '../../src/config/load.ts';
import { CHILD_DEADLINE_MS, childEnv, ROOT, runTessera, tempDir } from '../helpers/cli.ts';

/** A directory laid out like an install of Tessera, for commands that write into it. */
function installDir(): string {
  const dir = tempDir();
  for (const name of ['bin', 'src', 'node_modules', 'package.json']) {
    symlinkSync(join(ROOT, name), join(dir, name));
  }
  return dir;
}

/** Runs a shell command line as a user would type it, in `cwd`. */
function shell(command: string, cwd: string) {
  return spawnSync('sh', ['-c', command], {
    cwd,
    env: childEnv(),
    encoding: 'utf8',
    timeout: CHILD_DEADLINE_MS,
  });
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('tessera CLI', () => {
  it('prints its version and help on every command', async () => {
    const version = runTessera(['--version']);
    assert.equal(version.status, 0);
    assert.equal(version.stdout.trim(), packageJson.version);
    const help = runTessera(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: tessera/);
    // The same program in this process for each command's help: a process each cost
    // ~2 s on a loaded machine and proved nothing more than the one above.
    for (const args of [
      ['serve', '--help'],
      ['migrate', '--help'],
      ['config', '--help'],
      ['config', 'generate', '--help'],
      ['config', 'show', '--help'],
      ['config', 'validate', '--help'],
      ['user', '--help'],
      ['user', 'create', '--help'],
      ['keys', '--help'],
      ['keys', 'rotate', '--help'],
    ]) {
      let stdout = '';
      const io = { ...PROCESS_IO, stdout: { write: (text: string) => (stdout += text) } };
      assert.equal(await runCli(['node', 'tessera', ...args], io), 0, args.join(' '));
      assert.match(stdout, /Usage: tessera/, args.join(' '));
    }
  });

  it('user create makes a platform administrator; bad input exits 2', () => {
    const env = {
      TESSERA_DATA_DIR: tempDir(),
      TESSERA_ADMIN_PASSWORD: 'correct horse battery staple',
    };
    assert.equal(runTessera(['migrate'], { env }).status, 0);
    const created = runTessera(
      ['user', 'create', '--email', 'root@example.com', '--platform-admin'],
      { env },
    );
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout.trim(), /^[0-9a-f-]{36}$/);
    const again = runTessera(['user', 'create', '--email', 'ROOT@example.com'], { env });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already registered/);
    const weak = runTessera(['user', 'create', '--email', 'b@example.com'], {
      env: { ...env, TESSERA_ADMIN_PASSWORD: 'short' },
    });
    assert.equal(weak.status, 2);
  });

  it('keys rotate adds a signing key each time; a bad master key exits 1', () => {
    const env = { TESSERA_DATA_DIR: tempDir() };
    assert.equal(runTessera(['migrate'], { env }).status, 0);
    const kids = [1, 2].map(() => {
      const rotated = runTessera(['keys', 'rotate'], { env });
      assert.equal(rotated.status, 0, rotated.stderr);
      return /^new signing key ([A-Za-z0-9_-]{43}) /.exec(rotated.stdout)?.[1];
    });
    assert.ok(kids[0] && kids[1] && kids[0] !== kids[1]);
    const bad = runTessera(['keys', 'rotate'], { env: { ...env, TESSERA_MASTER_KEY: 'abc' } });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /openssl rand -base64 32/);
  });

  it('exits 2 on an unknown command or option', () => {
    assert.equal(runTessera(['frobnicate']).status, 2);
    assert.equal(runTessera(['serve', '--no-such-flag']).status, 2);
  });

  it('config generate prints a complete example that config validate accepts', () => {
    const generated = runTessera(['config', 'generate']);
    assert.equal(generated.status, 0);
    assert.doesNotThrow(() => parse(generated.stdout));
    const cwd = tempDir();
    writeFileSync(join(cwd, 'example.toml'), generated.stdout);
    const validated = runTessera(['config', 'validate', 'example.toml'], { cwd });
    assert.equal(validated.status, 0, validated.stderr);
    assert.match(validated.stdout, /configuration is valid/);
  });

  // Issue 15: the README's `npm run tessera -- config generate > tessera.toml` wrote
  // npm's banner into the file, which then failed to parse.
  it("the README's config generate commands write a file that loads", () => {
    const commands = README.match(/`[^`]*config generate > tessera\.toml`/g) ?? [];
    assert.deepEqual(commands, [
      '`bin/tessera config generate > tessera.toml`',
      '`npm run --silent tessera -- config generate > tessera.toml`',
    ]);
    for (const quoted of commands) {
      const cwd = installDir();
      const result = shell(quoted.slice(1, -1), cwd);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, '', 'everything went into the file');
      const loaded = loadConfig({ cwd, env: {} });
      assert.equal(loaded.file, join(cwd, 'tessera.toml'), quoted);
      assert.deepEqual(loaded.config, defaultConfig(), quoted);
    }
    // Why the README says --silent: without it the banner is the file's first lines.
    const cwd = installDir();
    assert.equal(shell('npm run tessera -- config generate > tessera.toml', cwd).status, 0);
    assert.match(readFileSync(join(cwd, 'tessera.toml'), 'utf8'), /^\n> tessera@/);
  });

  it('config validate exits 2 and lists every problem', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'bad.toml'), '[server]\nport = "abc"\n[logging]\nlevel = "loud"\n');
    const result = runTessera(['config', 'validate', 'bad.toml'], { cwd });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /server\.port must be an integer 1-65535, got "abc"/);
    assert.match(result.stderr, /logging\.level must be one of "fatal", .*, got "loud"/);
    assert.equal(runTessera(['config', 'validate', 'missing.toml'], { cwd }).status, 2);
  });

  it('config show prints the effective config with secrets masked', () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'tessera.toml'),
      '[server]\nport = 4555\n[metrics]\nbearer_token = "very-secret"\n',
    );
    const env = { TESSERA_DATABASE_URL: 'postgres://app:pw123@db.internal/tessera' };
    const shown = runTessera(['config', 'show'], { cwd, env });
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /port = 4555/);
    assert.ok(!shown.stdout.includes('very-secret') && !shown.stdout.includes('pw123'));
    const json = runTessera(['config', 'show', '--json'], { cwd, env });
    const parsed = JSON.parse(json.stdout) as {
      server: { port: number };
      metrics: { bearer_token: string };
    };
    assert.equal(parsed.server.port, 4555);
    assert.equal(parsed.metrics.bearer_token, '********');
  });

  it('migrate applies migrations once and reports status', () => {
    const dataDir = tempDir();
    const env = { TESSERA_DATA_DIR: dataDir };
    const before = runTessera(['migrate', '--status'], { env });
    assert.equal(before.status, 0, before.stderr);
    assert.match(before.stdout, /schema version 0 of \d+; pending: 1/);
    const first = runTessera(['migrate'], { env });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /applied migrations 1/);
    const second = runTessera(['migrate'], { env });
    assert.match(second.stdout, /is up to date/);
    const after = runTessera(['migrate', '--status'], { env });
    assert.match(after.stdout, /pending: none/);
  });
});
