import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ADMIN_ENV,
  adminAuthorization,
  commandLineOf,
  descendantsOf,
  runTessera,
  spawnServer,
  tempDir,
} from '../helpers/cli.ts';
import { testEngines, testStorageConfig } from '../helpers/test-database.ts';

/** Starts a request that the server only answers after `ms`; resolves with its status. */
function keepAliveRequest(baseUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}/health`,
      { agent: false, headers: { connection: 'keep-alive' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

for (const engine of testEngines()) {
  describe(`tessera serve as a real process (${engine})`, () => {
    it('serves /health, then exits 0 on SIGTERM after finishing', async (t) => {
      const env: Record<string, string> = {};
      if (engine === 'postgres') {
        const database = await testStorageConfig('postgres');
        t.after(() => database.cleanup());
        env.TESSERA_DATABASE_URL = database.storage.database_url;
      }
      const dataDir = tempDir();
      const server = await spawnServer({ ...env, ...ADMIN_ENV, TESSERA_DATA_DIR: dataDir });
      // bin/tessera replaced itself with Node: the process a supervisor starts and
      // signals is the server, with no shell or wrapper in between.
      const pid = server.child.pid as number;
      assert.match(commandLineOf(pid), /node \S*src\/main\.ts serve$/);
      assert.deepEqual(descendantsOf(pid), []);
      const response = await fetch(`${server.baseUrl}/health`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as {
        status: string;
        database: { engine: string; ok: boolean };
      };
      assert.equal(body.status, 'ok');
      assert.deepEqual(body.database, { engine, ok: true });
      assert.ok(response.headers.get('x-request-id'));
      if (engine === 'sqlite')
        assert.ok(existsSync(join(dataDir, 'tessera.db')), 'database file in the data dir');

      // The README's quick start example, as written there.
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const example = /-d '(\{"events".*\})'/.exec(readme)?.[1];
      assert.ok(example, 'the README shows an append body');
      const authorization = await adminAuthorization(server.baseUrl);
      const appended = await fetch(`${server.baseUrl}/api/v1/entities/order-1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: example,
      });
      assert.equal(appended.status, 201);
      const read = (await (
        await fetch(`${server.baseUrl}/api/v1/entities/order-1/events`, {
          headers: { authorization },
        })
      ).json()) as {
        events: { event_type: string; payload: unknown }[];
      };
      assert.deepEqual(
        read.events.map((e) => [e.event_type, e.payload]),
        [['OrderPlaced', { total: 42 }]],
      );

      // A keep-alive connection must not hold the process open after SIGTERM.
      assert.equal(await keepAliveRequest(server.baseUrl), 200);
      server.child.kill('SIGTERM');
      const code = await server.exited;
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /"msg":"stopped"/);
      // Had the idle connection held the process open, the shutdown timeout would have
      // cut it, and said so: a fact of the log, not a measure of a machine's speed.
      assert.doesNotMatch(server.output(), /shutdown timeout reached/);
      await assert.rejects(fetch(`${server.baseUrl}/health`), 'no longer listening');
    });
  });
}

describe('tessera serve refuses a bad configuration', () => {
  it('exits 2 naming server.port for port = "abc" in tessera.toml', async () => {
    const cwd = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(cwd, 'tessera.toml'), '[server]\nport = "abc"\n');
    const result = runTessera(['serve'], { cwd });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /server\.port must be an integer 1-65535, got "abc"/);
  });

  it('exits 2 naming the variable for TESSERA_PORT=abc', () => {
    const result = runTessera(['serve'], { env: { TESSERA_PORT: 'abc' } });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /server\.port \(from TESSERA_PORT\) must be an integer 1-65535, got "abc"/,
    );
  });

  it('exits 1 with a clear message when PostgreSQL cannot be reached', () => {
    const result = runTessera(['serve'], {
      env: {
        TESSERA_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        TESSERA_STORAGE_CONNECT_TIMEOUT_MS: '500',
      },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /127\.0\.0\.1:1/);
  });
});
