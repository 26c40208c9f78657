import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { testEngines } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';
import { type WebhookWorld, webhookWorld } from '../helpers/webhook-fixture.ts';
import { startWebhookSink } from '../helpers/webhook-sink.ts';

/**
 * Issue 21, SSRF defence, end to end: with `webhooks.allow_private_networks` off an
 * endpoint can reach neither the server itself nor its network nor the cloud metadata
 * service, whether the URL names the address (refused when the endpoint is saved) or a
 * DNS name resolving to it (refused at connect time, every attempt); a redirect is
 * never followed. Receivers are real HTTP servers on 127.0.0.1 that must hear nothing.
 */

const GUARDED = { webhooks: { allow_private_networks: false, allow_insecure_urls: true } };

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

/** Every attempt in an endpoint's delivery log (newest first). */
async function attempts(world: WebhookWorld, id: string): Promise<Json[]> {
  const reply = await world.api('GET', `/webhooks/${id}/deliveries?limit=1000`);
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  return reply.json.deliveries;
}

async function disabled(world: WebhookWorld, id: string): Promise<boolean> {
  return (await world.api('GET', `/webhooks/${id}`)).json.enabled === false;
}

/** Asserts a 400 `validation_failed` naming `/url`. */
function assertRefusedUrl(reply: { status: number; json: Json }, url: string, message: RegExp) {
  assert.equal(reply.status, 400, `${url}: ${JSON.stringify(reply.json)}`);
  assert.equal(reply.json.code, 'validation_failed', url);
  assert.deepEqual(
    reply.json.errors.map((error: { path: string }) => error.path),
    ['/url'],
    url,
  );
  assert.match(reply.json.errors[0].message, message, url);
}

/** A receiver that answers every request with a redirect to `location`. */
async function redirector(t: TestContext, location: string) {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests += 1;
      response.writeHead(302, { location }).end('moved');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, requests: () => requests };
}

for (const engine of testEngines()) {
  describe(`webhook SSRF defence (${engine})`, () => {
    it('refuses an endpoint whose URL names an internal address, and stores nothing', async (t) => {
      const world = await webhookWorld(t, engine, GUARDED);
      // A live receiver where the loopback URLs point: it must never hear of them.
      const sink = await startWebhookSink();
      t.after(() => sink.close());
      const port = sink.port;
      const internal = [
        `http://127.0.0.1:${port}/`,
        `http://[::1]:${port}/`,
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/',
        // The same places spelt otherwise: the URL parser's forms, mapped and NAT64 IPv6.
        `http://127.1:${port}/`,
        `http://0x7f000001:${port}/`,
        `http://2130706433:${port}/`,
        `http://0177.0.0.1:${port}/`,
        `http://①②⑦.0.0.1:${port}/`,
        'http://0.0.0.0/',
        'http://[::ffff:127.0.0.1]/',
        'http://[::ffff:169.254.169.254]/',
        'http://[64:ff9b::a9fe:a9fe]/',
        'http://[fd00:ec2::254]/',
        'http://100.100.100.200/',
        'http://192.168.1.1/',
        'http://172.16.0.1/',
        'http://[fe80::1]/',
      ];
      for (const url of internal) {
        const reply = await world.api('POST', '/webhooks', {
          body: { url, event_types: ['*'] },
        });
        assertRefusedUrl(reply, url, /internal address.*allow_private_networks is off/);
      }
      const listed = await world.api('GET', '/webhooks');
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.json.webhooks, [], 'no endpoint stored');
      const audit = await world.api('GET', '/audit?action=webhook.created');
      assert.deepEqual(audit.json.events, [], 'no endpoint audited as created');
      // An endpoint saved with a public name cannot be moved to an internal address either.
      const made = await world.endpoint('acme', 'https://hooks.example.com/in', {
        event_types: ['*'],
      });
      const moved = await world.api('PATCH', `/webhooks/${made.id}`, {
        body: { url: `http://127.0.0.1:${port}/` },
      });
      assertRefusedUrl(moved, 'PATCH', /internal address/);
      assert.equal(
        (await world.api('GET', `/webhooks/${made.id}`)).json.url,
        'https://hooks.example.com/in',
      );
      assert.equal(sink.arrivals.length, 0);
    });

    it('accepts a DNS name resolving to loopback but never connects to it: blocked_address, every attempt and the ping', async (t) => {
      const world = await webhookWorld(t, engine, GUARDED);
      const sink = await startWebhookSink();
      t.after(() => sink.close());
      const url = `http://localhost:${sink.port}/hooks`;
      const made = await world.endpoint('acme', url, { event_types: ['*'] });
      await world.append('acme', 'order-1', ['order.placed']);
      // The retry schedule [0, 0, 0]: four attempts, then the endpoint is disabled.
      await until(() => disabled(world, made.id), 'the endpoint disabled after its schedule');
      const state = await world.api('GET', `/webhooks/${made.id}`);
      assert.equal(state.json.disabled_reason, 'failing');
      const log = await attempts(world, made.id);
      assert.equal(log.length, 4, JSON.stringify(log));
      for (const attempt of log) {
        assert.equal(attempt.outcome, 'failed');
        assert.equal(attempt.status, null, 'no answer: nothing was connected to');
        assert.equal(attempt.response, null);
        assert.match(attempt.error, /^blocked_address: localhost resolves to blocked address /);
      }
      // The delivery thread reports its counts a moment later.
      await until(
        async () =>
          /tessera_webhook_deliveries_total\{outcome="blocked_address"\} 4\b/.test(
            (await world.test.app.inject({ method: 'GET', url: '/metrics' })).body,
          ),
        'the scheduled attempts counted as blocked',
      );
      const ping = await world.api('POST', `/webhooks/${made.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      assert.equal(ping.json.outcome, 'failed');
      assert.equal(ping.json.status, null);
      assert.match(ping.json.error, /blocked_address/);
      assert.equal(sink.arrivals.length, 0, 'the receiver on loopback heard nothing');
    });

    it('never follows a redirect, even to an address it may reach', async (t) => {
      // Private networks allowed for this case only, so the first hop can be local.
      const world = await webhookWorld(t, engine);
      const other = await startWebhookSink();
      t.after(() => other.close());
      const hop = await redirector(t, other.url);
      const made = await world.endpoint('acme', hop.url, { event_types: ['*'] });
      await world.append('acme', 'order-1', ['order.placed']);
      await until(() => disabled(world, made.id), 'the endpoint disabled after its schedule');
      const log = await attempts(world, made.id);
      assert.equal(log.length, 4);
      for (const attempt of log) {
        assert.equal(attempt.outcome, 'failed');
        assert.equal(attempt.status, 302);
        assert.equal(attempt.error, 'HTTP 302');
        assert.equal(attempt.response, 'moved');
      }
      const ping = await world.api('POST', `/webhooks/${made.id}/test`);
      assert.equal(ping.json.outcome, 'failed');
      assert.equal(ping.json.status, 302);
      assert.equal(hop.requests(), 5, 'four attempts and the ping reached the first hop');
      assert.equal(other.arrivals.length, 0, 'the redirect target heard nothing');
    });

    it('requires https unless allow_insecure_urls is on', async (t) => {
      const world = await webhookWorld(t, engine, {
        webhooks: { allow_private_networks: false, allow_insecure_urls: false },
      });
      for (const url of ['http://hooks.example.com/in', 'ftp://hooks.example.com/in']) {
        const reply = await world.api('POST', '/webhooks', { body: { url, event_types: ['*'] } });
        assertRefusedUrl(reply, url, /must be an https URL/);
      }
      const internal = await world.api('POST', '/webhooks', {
        body: { url: 'https://127.0.0.1/in', event_types: ['*'] },
      });
      assertRefusedUrl(internal, 'https://127.0.0.1/in', /internal address/);
      assert.deepEqual((await world.api('GET', '/webhooks')).json.webhooks, []);
      const made = await world.api('POST', '/webhooks', {
        body: { url: 'https://hooks.example.com/in', event_types: ['*'] },
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      const insecure = await world.api('PATCH', `/webhooks/${made.json.id}`, {
        body: { url: 'http://hooks.example.com/in' },
      });
      assertRefusedUrl(insecure, 'PATCH http', /must be an https URL/);
    });
  });
}
