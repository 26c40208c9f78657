import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { buildTestApp, type DeepPartial, type TestApp } from '../../test/helpers/app.ts';
import { openSse } from '../../test/helpers/sse-client.ts';
import type { Config } from '../config/schema.ts';

/**
 * Issue 15 item 9: connections that never send a byte must not exhaust the server.
 * Real sockets on 127.0.0.1; a second loopback address (127.0.0.2) plays another
 * client, such as the orchestrator's health probe.
 */

const apps: TestApp[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function listening(server: DeepPartial<Config['server']>, others: DeepPartial<Config> = {}) {
  const testApp = await buildTestApp({ ...others, server });
  apps.push(testApp);
  const address = await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  return { testApp, port: Number(new URL(address).port), address };
}

/** Opens `count` idle sockets; each resolves `closed` when the server drops it. */
async function idleSockets(port: number, count: number) {
  const sockets: Socket[] = [];
  const closed: Promise<unknown>[] = [];
  for (let index = 0; index < count; index++) {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    // Read what the server sends (a 408): a paused socket never sees its end, nor 'close'.
    socket.resume();
    closed.push(once(socket, 'close'));
    sockets.push(socket);
    await once(socket, 'connect');
  }
  return { sockets, closed };
}

/** GET /health from another client address, on a connection of its own. */
async function healthFrom(localAddress: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', localAddress, agent: false },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** How many of `closed` have settled, without waiting. */
async function settledCount(closed: readonly Promise<unknown>[]): Promise<number> {
  const marks = closed.map((promise) => Promise.race([promise.then(() => 1), Promise.resolve(0)]));
  return (await Promise.all(marks)).reduce((sum: number, mark) => sum + mark, 0);
}

// Without the limits the awaited closes never come: the timeout turns a hang into a failure.
describe('connection limits', { timeout: 60_000 }, () => {
  it('closes one client’s connections past max_connections_per_ip; other clients and /health go on', async () => {
    const { port } = await listening({ max_connections_per_ip: 20, max_connections: 100 });
    const { sockets, closed } = await idleSockets(port, 30);
    // The ten past the cap are closed by the server; the first twenty stay open.
    await Promise.all(closed.slice(20));
    assert.equal(await settledCount(closed.slice(0, 20)), 0, 'the first twenty are still open');
    assert.equal(await healthFrom('127.0.0.2', port), 200);
    for (const socket of sockets) socket.destroy();
  });

  it('closes connections past max_connections', async () => {
    const { port } = await listening({ max_connections_per_ip: 100, max_connections: 10 });
    const { sockets, closed } = await idleSockets(port, 15);
    await Promise.all(closed.slice(10));
    assert.equal(await settledCount(closed.slice(0, 10)), 0, 'the first ten are still open');
    for (const socket of sockets) socket.destroy();
  });

  it('closes a connection that never sends a byte after header_timeout_ms', async () => {
    const { port } = await listening({ header_timeout_ms: 200, request_timeout_ms: 1000 });
    const { closed } = await idleSockets(port, 1);
    // Without the setting this waits for Node's default (60 s, checked every 30 s).
    await closed[0];
  });

  it('closes a keep-alive connection idle past idle_timeout_ms after its request', async () => {
    const { port } = await listening({ idle_timeout_ms: 200 });
    const { sockets, closed } = await idleSockets(port, 1);
    const [socket] = sockets;
    assert.ok(socket);
    const answered = once(socket, 'data');
    socket.write('GET /liveness HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(String((await answered)[0]), /^HTTP\/1\.1 200/);
    // Fastify's default keeps it 72 s; the test would time out.
    await closed[0];
  });

  it('does not cut an SSE stream that outlives request_timeout_ms', async () => {
    const { address } = await listening(
      { header_timeout_ms: 100, request_timeout_ms: 100 },
      { subscriptions: { heartbeat_ms: 1000 } },
    );
    // Heartbeats come every second (the smallest setting): they prove the stream
    // lived ten request timeouts and more.
    const sse = await openSse(`${address}/api/v1/events/subscribe`);
    assert.equal(sse.status, 200);
    const frames = [];
    for (let index = 0; index < 3; index++) frames.push(await sse.next());
    assert.ok(
      frames.every((frame) => frame !== undefined),
      'the stream is still open after three frames',
    );
    sse.close();
  });
});
