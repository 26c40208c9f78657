import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestApp, captureLogs } from '../test/helpers/app.ts';
import { stopServer } from './server.ts';

/** A listening app with a route that answers after `?ms=`, to hold requests in flight. */
async function slowServer(shutdownTimeoutMs: number) {
  const logs = captureLogs();
  const testApp = await buildTestApp(
    { server: { shutdown_timeout_ms: shutdownTimeoutMs } },
    'sqlite',
    {
      logger: logs.logger,
    },
  );
  testApp.app.get('/slow', async (request) => {
    await sleep(Number((request.query as { ms: string }).ms));
    return { done: true };
  });
  const address = await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  const stop = () =>
    stopServer({ ...testApp, redis: undefined, logger: logs.logger }, 'SIGTERM').finally(() =>
      testApp.close(),
    );
  return { address, stop, db: testApp.db, logs };
}

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new connections, then closes the database', async () => {
    const server = await slowServer(5000);
    const inFlight = fetch(`${server.address}/slow?ms=300`);
    await sleep(50);
    const started = Date.now();
    const stopped = server.stop();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('connection'), 'close', 'keep-alive client told to let go');
    assert.deepEqual(await response.json(), { done: true });
    await stopped;
    assert.ok(Date.now() - started >= 200, 'waited for the request');
    await assert.rejects(fetch(`${server.address}/liveness`));
    assert.equal(await server.db.ping(), false, 'database closed');
    assert.ok(server.logs.lines.some((line) => line.msg === 'stopped'));
  });

  it('cuts requests that outlive shutdown_timeout_ms', async () => {
    const server = await slowServer(200);
    const inFlight = fetch(`${server.address}/slow?ms=10000`).then(
      (response) => response.status,
      () => 'cut',
    );
    await sleep(50);
    const started = Date.now();
    await server.stop();
    const elapsed = Date.now() - started;
    assert.equal(await inFlight, 'cut');
    assert.ok(elapsed < 3000, `stopped after ${elapsed} ms, bounded by the timeout`);
    assert.ok(
      server.logs.lines.some(
        (line) => line.msg === 'shutdown timeout reached: closing remaining connections',
      ),
    );
  });
});
