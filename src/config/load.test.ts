import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { ConfigError, defaultConfig, loadConfig } from './load.ts';
import { generateExampleConfig, renderConfig } from './render.ts';
import { validateConfig } from './validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses defaults when there is no file and no environment', () => {
    const { config, file } = loadConfig({ env: {}, cwd: dir });
    assert.equal(file, undefined);
    assert.equal(config.server.port, 3900);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.storage.data_dir, './data');
    assert.equal(config.storage.database_url, '');
    assert.deepEqual(config, defaultConfig());
  });

  it('reads ./tessera.toml from the working directory when present', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, 'tessera.toml'), '[server]\nport = 4000\n');
    const { config, file } = loadConfig({ env: {}, cwd });
    assert.equal(file, join(cwd, 'tessera.toml'));
    assert.equal(config.server.port, 4000);
  });

  it('reads an explicit file and keeps defaults for the rest', () => {
    const file = writeConfig(
      'explicit.toml',
      '[logging]\nlevel = "debug"\n[server]\ncors_origins = ["https://a.example"]\n',
    );
    const { config } = loadConfig({ path: file, env: {} });
    assert.equal(config.logging.level, 'debug');
    assert.deepEqual(config.server.cors_origins, ['https://a.example']);
    assert.equal(config.server.port, 3900);
  });

  it('refuses a missing explicit file', () => {
    const problems = problemsOf(() => loadConfig({ path: join(dir, 'nope.toml'), env: {} }));
    assert.match(problems[0] ?? '', /nope\.toml: file not found/);
  });

  it('names the key, the value and what is allowed for a bad port', () => {
    const file = writeConfig('bad-port.toml', '[server]\nport = "abc"\n');
    const problems = problemsOf(() => loadConfig({ path: file, env: {} }));
    assert.deepEqual(problems, ['server.port must be an integer 1-65535, got "abc"']);
  });

  it('reports every problem at once, including unknown sections and keys', () => {
    const file = writeConfig(
      'many.toml',
      '[server]\nport = 70000\nprot = 1\n[storage]\nsqlite_synchronous = "off"\n[nonsense]\na = 1\n[backup]\nenabled = true\n',
    );
    const problems = problemsOf(() => loadConfig({ path: file, env: {} }));
    assert.ok(
      problems.includes('server.port must be an integer 1-65535, got 70000'),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => p.startsWith('unknown setting server.prot (known: host, port')));
    assert.ok(problems.some((p) => p.startsWith('unknown section [nonsense]')));
    assert.ok(problems.some((p) => p.startsWith('unknown setting backup.enabled (known: dir,')));
    assert.ok(
      problems.includes(
        'storage.sqlite_synchronous must be one of "normal", "full", "extra", got "off"',
      ),
    );
  });

  it('reports TOML syntax errors with a line number', () => {
    const file = writeConfig('syntax.toml', '[server]\nport = = 1\n');
    const problems = problemsOf(() => loadConfig({ path: file, env: {} }));
    assert.match(problems[0] ?? '', /TOML syntax error at line 2/);
  });

  it('rejects a section that is not a table and a database URL of another kind', () => {
    const result = validateConfig({ server: 5, storage: { database_url: 'mysql://x' } });
    assert.equal(result.ok, false);
    assert.ok(
      !result.ok && result.problems.includes('[server] must be a table of settings, got 5'),
    );
    assert.ok(
      !result.ok &&
        result.problems.includes(
          'storage.database_url must be empty, or a URL starting with postgres:// or postgresql://, got "mysql://x"',
        ),
    );
  });
});

describe('environment overrides', () => {
  it('applies the shortcut variables', () => {
    const { config } = loadConfig({
      cwd: dir,
      env: {
        TESSERA_HOST: '0.0.0.0',
        TESSERA_PORT: '4100',
        TESSERA_DATA_DIR: '/var/lib/tessera',
        TESSERA_DATABASE_URL: 'postgres://u:p@db/tessera',
        TESSERA_REDIS_URL: 'redis://cache:6379',
        TESSERA_LOG_LEVEL: 'warn',
      },
    });
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 4100);
    assert.equal(config.storage.data_dir, '/var/lib/tessera');
    assert.equal(config.storage.database_url, 'postgres://u:p@db/tessera');
    assert.equal(config.redis.url, 'redis://cache:6379');
    assert.equal(config.logging.level, 'warn');
  });

  it('applies the general TESSERA_<SECTION>_<KEY> form over the file, with types coerced', () => {
    const file = writeConfig('env.toml', '[server]\nport = 4000\n[metrics]\nenabled = true\n');
    const { config } = loadConfig({
      path: file,
      env: {
        TESSERA_SERVER_PORT: '4200',
        TESSERA_METRICS_ENABLED: 'false',
        TESSERA_SERVER_CORS_ORIGINS: 'https://a.example, https://b.example:8443',
        TESSERA_STORAGE_SQLITE_SYNCHRONOUS: 'normal',
      },
    });
    assert.equal(config.server.port, 4200);
    assert.equal(config.metrics.enabled, false);
    assert.deepEqual(config.server.cors_origins, ['https://a.example', 'https://b.example:8443']);
    assert.equal(config.storage.sqlite_synchronous, 'normal');
  });

  it('coerces each item of a list by the list’s item schema', () => {
    const { config } = loadConfig({
      cwd: dir,
      env: { TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS: '5,300,1800' },
    });
    assert.deepEqual(config.webhooks.retry_schedule_seconds, [5, 300, 1800]);
    const spaced = loadConfig({
      cwd: dir,
      env: { TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS: ' 5, 300 ,1800 ' },
    });
    assert.deepEqual(spaced.config.webhooks.retry_schedule_seconds, [5, 300, 1800]);
  });

  it('names the variable and quotes the list when one of its items is malformed', () => {
    const problems = problemsOf(() =>
      loadConfig({ cwd: dir, env: { TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS: '5,soon' } }),
    );
    assert.deepEqual(problems, [
      'webhooks.retry_schedule_seconds (from TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS) must be a list of whole seconds, e.g. [5, 300, 1800], got [5,"soon"]',
    ]);
    const fractional = problemsOf(() =>
      loadConfig({ cwd: dir, env: { TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS: '5,1.5' } }),
    );
    assert.equal(fractional.length, 1);
    assert.match(
      fractional[0] ?? '',
      /^webhooks\.retry_schedule_seconds \(from TESSERA_WEBHOOKS_RETRY_SCHEDULE_SECONDS\) must be .*, got \[5,1\.5\]$/,
    );
  });

  it('lets the general form win over a shortcut', () => {
    const { config } = loadConfig({
      cwd: dir,
      env: { TESSERA_PORT: '4300', TESSERA_SERVER_PORT: '4301' },
    });
    assert.equal(config.server.port, 4301);
  });

  it('names the variable when its value is invalid', () => {
    const problems = problemsOf(() => loadConfig({ cwd: dir, env: { TESSERA_PORT: 'abc' } }));
    assert.deepEqual(problems, [
      'server.port (from TESSERA_PORT) must be an integer 1-65535, got "abc"',
    ]);
    const bool = problemsOf(() =>
      loadConfig({ cwd: dir, env: { TESSERA_METRICS_ENABLED: 'maybe' } }),
    );
    assert.deepEqual(bool, [
      'metrics.enabled (from TESSERA_METRICS_ENABLED) must be true or false, got "maybe"',
    ]);
  });

  it('refuses a typo in a known section but ignores variables of no section', () => {
    const problems = problemsOf(() =>
      loadConfig({
        cwd: dir,
        env: { TESSERA_SERVER_PROT: '1', TESSERA_MASTER_KEY: 'x', TESSERA_TEST_DATABASE_URL: 'y' },
      }),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^TESSERA_SERVER_PROT is not a setting of \[server\] \(known: TESSERA_SERVER_HOST/,
    );
    const backup = problemsOf(() =>
      loadConfig({ cwd: dir, env: { TESSERA_BACKUP_ENABLED: 'true' } }),
    );
    assert.equal(backup.length, 1);
    assert.match(
      backup[0] ?? '',
      /^TESSERA_BACKUP_ENABLED is not a setting of \[backup\] \(known: TESSERA_BACKUP_DIR,/,
    );
  });
});

describe('generate and show', () => {
  it('generates an example that parses, validates and equals the defaults', () => {
    const example = generateExampleConfig();
    const parsed = parse(example);
    const result = validateConfig(parsed);
    assert.ok(result.ok);
    assert.deepEqual(result.config, defaultConfig());
    for (const name of [
      'server',
      'storage',
      'redis',
      'auth',
      'rate_limits',
      'lockout',
      'backup',
      'metrics',
      'logging',
    ]) {
      assert.ok(example.includes(`[${name}]`), `example has [${name}]`);
    }
    assert.match(example, /# Allowed: an integer 1-65535\. Environment: TESSERA_SERVER_PORT\./);
  });

  it('shows the effective config with secrets masked', () => {
    const { config } = loadConfig({
      cwd: dir,
      env: {
        TESSERA_DATABASE_URL: 'postgres://tessera:hunter2@db:5432/tessera',
        TESSERA_REDIS_URL: 'redis://:s3cret@cache:6379',
        TESSERA_METRICS_BEARER_TOKEN: 'scrape-token',
      },
    });
    const shown = renderConfig(config);
    assert.ok(
      !shown.includes('hunter2') && !shown.includes('s3cret') && !shown.includes('scrape-token'),
    );
    assert.match(shown, /database_url = "postgres:\/\/tessera:\*{8}@db:5432\/tessera"/);
    assert.match(shown, /bearer_token = "\*{8}"/);
    const reparsed = validateConfig(parse(shown));
    assert.ok(reparsed.ok, 'shown config is valid TOML for the same schema');
  });
});
