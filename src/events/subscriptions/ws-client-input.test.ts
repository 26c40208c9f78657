import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogs } from '../../../test/helpers/app.ts';
import { serveSubscriptions } from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs, refusedUpgrade } from '../../../test/helpers/ws-client.ts';

/**
 * Issue 15 items 13 and 14 at the WebSocket door. What a client sends reaches the
 * server two ways: the upgrade request (path and query string), which passes the same
 * checks as every HTTP request before any route runs, and messages, which the stream
 * never parses (it expects none): hostile ones change nothing and log no error.
 */
for (const engine of testEngines()) {
  describe(`hostile input on GET /events/stream (${engine})`, () => {
    it('refuses an upgrade whose query string holds NUL or an out-of-range cursor, with a 400 problem', async (t) => {
      const server = await serveSubscriptions(t, engine);
      const ws = `${server.baseUrl.replace(/^http/, 'ws')}/events/stream`;
      const nul = await refusedUpgrade(`${ws}?event_type=a%00b`);
      assert.equal(nul.status, 400);
      assert.equal(nul.contentType, 'application/problem+json; charset=utf-8');
      assert.equal(nul.body.code, 'invalid_characters');
      const huge = await refusedUpgrade(`${ws}?from_position=18446744073709551616`);
      assert.equal(huge.status, 400);
      assert.equal(huge.body.code, 'validation_failed');
      assert.equal(server.stats().live, 0, 'no subscription was opened');
    });

    it('ignores messages, deeply nested JSON, NUL and lone surrogates included: the stream goes on', async (t) => {
      const logs = captureLogs('debug');
      const server = await serveSubscriptions(t, engine, {}, { logger: logs.logger });
      const ws = await openWs(`${server.baseUrl.replace(/^http/, 'ws')}/events/stream`);
      t.after(() => ws.close());
      await until(() => server.stats().live === 1, 'the subscriber is live');
      for (const message of [
        // Nested past server.max_json_depth (and past what JSON.stringify survives
        // once parsed), within the 4 KiB a message may take.
        `${'['.repeat(2000)}${']'.repeat(2000)}`,
        '{"type":"subscribe","entity_id":"\\u0000"}',
        '{"a":"\\ud800"}',
        'a\u0000b',
        'not json at all',
      ]) {
        ws.socket.send(message);
      }
      ws.socket.send(Buffer.from([0x7b, 0x00, 0x7d]), { binary: true });
      const written = await server.append('order-1', 'Placed');
      const [event] = await ws.events(1);
      assert.equal(event?.position, written.events[0]?.position);
      assert.equal(server.stats().live, 1, 'still subscribed');
      const errors = logs.lines.filter((line) => (line.level as number) >= 50);
      assert.deepEqual(errors, []);
    });

    it('closes with 1007 a text message that is not UTF-8, logged as the client error it is', async (t) => {
      const logs = captureLogs('debug');
      const server = await serveSubscriptions(t, engine, {}, { logger: logs.logger });
      const ws = await openWs(`${server.baseUrl.replace(/^http/, 'ws')}/events/stream`);
      await until(() => server.stats().live === 1, 'the subscriber is live');
      // A lone surrogate as UTF-8 bytes (ED A0 80): not a Unicode scalar value.
      ws.socket.send(Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), { binary: false });
      const { code } = await ws.closed;
      assert.equal(code, 1007, 'RFC 6455 §7.4.1: inconsistent data');
      await until(() => server.stats().live === 0, 'the subscription is closed');
      assert.deepEqual(
        logs.lines.filter((line) => (line.level as number) >= 50),
        [],
      );
    });
  });
}
