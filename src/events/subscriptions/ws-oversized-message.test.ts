import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogs } from '../../../test/helpers/app.ts';
import { serveSubscriptions } from '../../../test/helpers/subscription-server.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs } from '../../../test/helpers/ws-client.ts';

describe('a WebSocket client sending an oversized message', () => {
  it('is closed with 1009 and logged as the client error it is, never at error level', async (t) => {
    const logs = captureLogs('debug');
    const server = await serveSubscriptions(t, 'sqlite', {}, { logger: logs.logger });
    const ws = await openWs(`${server.baseUrl.replace(/^http/, 'ws')}/events/stream`);
    await until(() => server.stats().live === 1, 'the subscriber is live');
    ws.socket.send('x'.repeat(5000));
    const { code } = await ws.closed;
    assert.equal(code, 1009, 'RFC 6455 §7.4.1: message too big');
    await until(() => server.stats().live === 0, 'the subscription is closed');
    const errors = logs.lines.filter((line) => (line.level as number) >= 50);
    assert.deepEqual(errors, []);
    const noted = logs.lines.find((line) => line.ws_error === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    assert.equal(noted?.level, 30);
  });
});
