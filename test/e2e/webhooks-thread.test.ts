import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { endpointSecretSealer } from '../../src/webhooks/signing/endpoint-sealer.ts';
import { testEngines } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';
import { type WebhookWorld, webhookWorld } from '../helpers/webhook-fixture.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * The delivery thread (issue 21's append-cost target): deliveries run on a worker
 * thread with its own database connection, started once an endpoint is enabled; the
 * API's thread counts what it reports, sends manual retries and pings itself, and a
 * secret that no longer opens is a logged failure, not a silent stall.
 */

async function metric(world: WebhookWorld, pattern: RegExp): Promise<number> {
  const body = (await world.test.app.inject({ url: '/metrics' })).body;
  return Number(pattern.exec(body)?.[1] ?? 0);
}
const HEAP = /^tessera_webhook_delivery_heap_bytes (\d+)$/m;
const outcome = (label: string) =>
  new RegExp(`^tessera_webhook_deliveries_total\\{outcome="${label}"\\} (\\d+)$`, 'm');

for (const engine of testEngines()) {
  describe(`the webhook delivery thread (${engine})`, () => {
    it('starts once an endpoint is enabled, and counts what it and the API send', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await startWebhookReceiver();
      t.after(() => receiver.close());
      // A disabled endpoint starts nothing: no thread, no heap to report.
      const made = await world.api('POST', '/webhooks', {
        body: { url: receiver.url, event_types: ['order.*'], enabled: false },
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      await world.append('acme', 'order-1', ['order.placed']);
      assert.equal(await metric(world, HEAP), 0);

      const enabled = await world.api('PATCH', `/webhooks/${made.json.id}`, {
        body: { enabled: true },
      });
      assert.equal(enabled.status, 200);
      await world.append('acme', 'order-1', ['order.paid']);
      await until(() => receiver.delivered().length >= 1, 'delivered from the thread');
      assert.ok((await metric(world, HEAP)) > 0, 'the thread reports its heap');
      await until(async () => (await metric(world, outcome('delivered'))) >= 1, 'counted');

      // A ping goes out from the API's thread, and is counted too.
      const before = await metric(world, outcome('delivered'));
      const ping = await world.api('POST', `/webhooks/${made.json.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      assert.equal(ping.json.outcome, 'delivered');
      assert.equal(await metric(world, outcome('delivered')), before + 1);
    });

    it('logs a secret sealed under another master key as a failed attempt, mended by a rotation', async (t) => {
      const world = await webhookWorld(t, engine, {
        webhooks: { retry_schedule_seconds: [0, 0, 0, 0, 0, 0] },
      });
      const receiver = await startWebhookReceiver();
      t.after(() => receiver.close());
      const { id } = await world.endpoint('acme', receiver.url, { event_types: ['order.*'] });
      // As after a change of master key: the box was sealed with a key this server lacks.
      const foreign = endpointSecretSealer(() => randomBytes(32)).seal(
        id,
        `whsec_${randomBytes(32).toString('base64')}`,
      );
      await world.test.db.kysely
        .updateTable('webhook_endpoints')
        .set({ secret_box: foreign })
        .where('id', '=', id)
        .execute();
      // A change through the API: the delivery thread reads the row afresh.
      const touched = await world.api('PATCH', `/webhooks/${id}`, { body: { description: 'x' } });
      assert.equal(touched.status, 200);
      await world.append('acme', 'order-1', ['order.placed']);
      const deliveries = async () =>
        (await world.api('GET', `/webhooks/${id}/deliveries?limit=100`)).json.deliveries as {
          outcome: string;
          error: string | null;
        }[];
      await until(
        async () => (await deliveries()).some((d) => d.error?.startsWith('signing_secret:')),
        'the failure logged',
      );
      assert.equal(receiver.received.length, 0, 'nothing unsigned was sent');
      const rotated = await world.api('POST', `/webhooks/${id}/secret/rotate`);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
      await until(() => receiver.delivered().length >= 1, 'delivered after the rotation');
      receiver.verify(receiver.delivered()[0] as never, rotated.json.secret);
    });
  });
}
