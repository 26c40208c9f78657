import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp, captureLogs } from '../test/helpers/app.ts';
import { stopServer } from './server.ts';

/**
 * A listening app whose `/slow` route holds its request until the test releases it,
 * and tells when that request is in the handler and when the close has begun: the
 * tests order what happens by these signals, never by sleeps a loaded machine misses.
 */
async function slowServer(shutdownTimeoutMs: number) {
  const logs = captureLogs();
  const testApp = await buildTestApp(
    { server: { shutdown_timeout_ms: shutdownTimeoutMs } },
    'sqlite',
    {
      logger: logs.logger,
    },
  );
  const arrived = Promise.withResolvers<void>();
  const released = Promise.withResolvers<void>();
  const closing = Promise.withResolvers<void>();
  testApp.app.get('/slow', async () => {
    arrived.resolve();
    await released.promise;
    return { done: true };
  });
  // Runs after the app's own preClose hooks (registered first): draining has begun.
  testApp.app.addHook('preClose', async () => closing.resolve());
  const address = await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  const stop = () =>
    stopServer({ ...testApp, redis: undefined, logger: logs.logger }, 'SIGTERM').finally(() =>
      testApp.close(),
    );
  return {
    address,
    stop,
    db: testApp.db,
    logs,
    arrived: arrived.promise,
    closing: closing.promise,
    release: () => released.resolve(),
  };
}

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new connections, then closes the database', async () => {
    // A timeout far beyond the test: only the request's end may let the close finish.
    const server = await slowServer(600_000);
    const order: string[] = [];
    const inFlight = fetch(`${server.address}/slow`);
    await server.arrived;
    const stopped = server.stop().then(() => order.push('stopped'));
    await server.closing;
    order.push('released');
    server.release();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('connection'), 'close', 'keep-alive client told to let go');
    assert.deepEqual(await response.json(), { done: true });
    await stopped;
    assert.deepEqual(order, ['released', 'stopped'], 'the close waited for the request');
    await assert.rejects(fetch(`${server.address}/liveness`));
    assert.equal(await server.db.ping(), false, 'database closed');
    assert.ok(server.logs.lines.some((line) => line.msg === 'stopped'));
  });

  it('cuts requests that outlive shutdown_timeout_ms', async (t) => {
    const server = await slowServer(200);
    // Held until the test ends: the close can only finish by cutting it.
    t.after(server.release);
    const inFlight = fetch(`${server.address}/slow`).then(
      (response) => response.status,
      () => 'cut',
    );
    await server.arrived;
    await server.stop();
    assert.equal(await inFlight, 'cut');
    assert.ok(
      server.logs.lines.some(
        (line) => line.msg === 'shutdown timeout reached: closing remaining connections',
      ),
    );
  });
});
