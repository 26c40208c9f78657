import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { serveSubscriptions } from '../../test/helpers/subscription-server.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

/**
 * Sends a WebSocket upgrade request on a raw socket and collects what comes back
 * until the server closes the connection. A server that left the socket open would
 * never resolve: the test's timeout is the safety net, not the measure.
 */
async function upgradeAnswer(base: string, path: string): Promise<string> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  let text = '';
  socket.on('data', (chunk) => {
    text += String(chunk);
  });
  await once(socket, 'close');
  return text;
}

/**
 * An upgrade request travels outside Node's HTTP bookkeeping (no keep-alive, no
 * timeouts): when it is answered instead of upgraded, the server must close its socket,
 * or every refused upgrade holds a file descriptor for as long as the client likes
 * (issue 15 item 9). Refusals by checks that run before the WebSocket plugin's own
 * hooks (invalid characters, credentials) and upgrades to plain HTTP routes included.
 */
for (const engine of testEngines()) {
  describe(`an upgrade request answered rather than upgraded (${engine})`, () => {
    it('is answered and its socket closed, whichever check refused it', {
      timeout: 120_000,
    }, async (t) => {
      const server = await serveSubscriptions(t, engine, {}, { impersonate: false });
      const base = new URL(server.baseUrl);
      const cases: [path: string, status: string, code: string | undefined][] = [
        [`${base.pathname}/events/stream?event_type=a%00b`, '400', 'invalid_characters'],
        [`${base.pathname}/events/stream`, '401', undefined],
        [`${base.pathname}/stats`, '401', undefined],
        ['/health', '200', undefined],
      ];
      for (const [path, status, code] of cases) {
        const answer = await upgradeAnswer(server.baseUrl, path);
        assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), path);
        if (code) assert.ok(answer.includes(`"code":"${code}"`), answer);
      }
    });
  });
}
