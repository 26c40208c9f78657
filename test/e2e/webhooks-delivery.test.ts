import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outboxRows } from '../helpers/email-fixture.ts';
import { testEngines } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';
import { webhookWorld } from '../helpers/webhook-fixture.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

for (const engine of testEngines()) {
  describe(`webhook delivery (${engine})`, () => {
    it('delivers matching events in order, signed in the Standard Webhooks format', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await startWebhookReceiver();
      t.after(() => receiver.close());
      const { secret } = await world.endpoint('acme', receiver.url, {
        event_types: ['order.*'],
        entity_prefix: 'order-',
      });
      assert.match(secret, /^whsec_/);
      // Concurrent appends: delivery follows the log's order, whatever the requests' race.
      const appended = (
        await Promise.all(
          Array.from({ length: 10 }, (_, n) =>
            world.append('acme', `order-${n}`, ['order.placed', 'order.paid', 'invoice.sent']),
          ),
        )
      ).flat();
      await world.append('acme', 'cart-1', ['order.placed']); // another entity prefix
      await until(() => receiver.delivered().length >= 20, '20 deliveries');
      const hooks = receiver.delivered();
      const positions = hooks.map((hook) => hook.json.data.position);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
        'in position order',
      );
      assert.equal(new Set(positions).size, 20);
      for (const hook of hooks) {
        receiver.verify(hook, secret);
        assert.match(String(hook.headers['webhook-id']), /^msg_/);
        assert.match(hook.json.type, /^order\.(placed|paid)$/);
        assert.equal(hook.json.type, hook.json.data.event_type);
        assert.match(hook.json.data.entity_id, /^order-/);
        assert.equal(hook.json.timestamp, hook.json.data.timestamp);
        assert.ok(appended.includes(hook.json.data.position));
      }
      // A wrong secret does not verify: the signature is real.
      assert.throws(() =>
        receiver.verify(hooks[0] as never, `whsec_${Buffer.alloc(32, 1).toString('base64')}`),
      );
      assert.equal(receiver.received.length, 20, 'nothing else was sent');
    });

    it('sends platform events to an endpoint that asked, and nothing of another tenant', async (t) => {
      const world = await webhookWorld(t, engine);
      const acme = await startWebhookReceiver();
      const globex = await startWebhookReceiver();
      t.after(() => acme.close());
      t.after(() => globex.close());
      const hook = await world.endpoint('acme', acme.url, { platform_events: ['webhook.*'] });
      await world.endpoint('globex', globex.url, { event_types: ['*'], platform_events: ['*'] });
      // Changes in acme: an endpoint update (a platform event) and an event.
      const patched = await world.api('PATCH', `/webhooks/${hook.id}`, {
        body: { description: 'orders' },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.json));
      await world.append('acme', 'order-1', ['order.placed']);
      await until(() => acme.delivered().length >= 2, 'the platform events');
      // Its own creation is the first thing an endpoint hears of (it follows the log from there).
      const [created, update] = acme.delivered();
      assert.equal(created?.json.type, 'tessera.webhook.created');
      assert.equal(update?.json.type, 'tessera.webhook.updated');
      assert.equal(acme.delivered().length, 2, 'no event-store event');
      assert.equal(update?.json.data.target, `webhook:${hook.id}`);
      acme.verify(update as never, hook.secret);
      // globex hears its own endpoint's creation, and never anything of acme's.
      await world.append('globex', 'x', ['thing.done']);
      await until(() => globex.delivered().length >= 1, 'globex event');
      for (const received of globex.received) {
        assert.doesNotMatch(received.body, /acme|order-1|orders/);
      }
    });

    it('holds an endpoint while its receiver is down and delivers everything, in order, once it is back', async (t) => {
      const world = await webhookWorld(t, engine, {
        webhooks: { retry_schedule_seconds: Array.from({ length: 30 }, () => 0) },
      });
      const down = await startWebhookReceiver();
      const up = await startWebhookReceiver();
      t.after(() => down.close());
      t.after(() => up.close());
      down.answer(503);
      const failing = await world.endpoint('acme', down.url, { event_types: ['*'] });
      const healthy = await world.endpoint('acme', up.url, { event_types: ['*'] });
      await world.append('acme', 'a', ['one', 'two', 'three']);
      // The failing endpoint holds back only itself.
      await until(() => up.delivered().length === 3, 'the healthy endpoint');
      await until(() => down.received.length >= 5, 'retries of the head event');
      assert.ok(
        down.received.every((hook) => hook.json.type === 'one'),
        'the head waits',
      );
      await until(
        async () => (await world.api('GET', `/webhooks/${failing.id}`)).json.failing?.attempts >= 1,
        'the endpoint shown failing',
      );
      await world.append('acme', 'a', ['four']);
      down.answer(200);
      await until(() => down.delivered().length === 4, 'everything after recovery');
      assert.deepEqual(
        down.delivered().map((hook) => hook.json.type),
        ['one', 'two', 'three', 'four'],
      );
      // The log is written a moment after the receiver answers (in batches).
      const logged = async () =>
        (await world.api('GET', `/webhooks/${failing.id}/deliveries?limit=100`)).json;
      await until(
        async () =>
          (await logged()).deliveries.filter((d: { outcome: string }) => d.outcome === 'delivered')
            .length === 4,
        'the deliveries logged',
      );
      const log = { json: await logged() };
      const failed = log.json.deliveries.find((d: { outcome: string }) => d.outcome === 'failed');
      assert.equal(failed.status, 503);
      assert.equal(failed.response, 'answered 503');
      assert.equal((await world.api('GET', `/webhooks/${healthy.id}`)).json.failing, null);
      const after = await world.api('GET', `/webhooks/${failing.id}`);
      assert.equal(after.json.failing, null);
      // Metrics: outcomes counted; both endpoints caught up, so no lag and nothing queued.
      const metrics = (await world.test.app.inject({ url: '/metrics' })).body;
      const delivered = metrics.match(
        /^tessera_webhook_deliveries_total\{outcome="delivered"\} (\d+)/m,
      );
      const errors = metrics.match(
        /^tessera_webhook_deliveries_total\{outcome="http_error"\} (\d+)/m,
      );
      assert.ok(Number(delivered?.[1]) >= 8, metrics);
      assert.ok(Number(errors?.[1]) >= 5);
      assert.match(
        metrics,
        new RegExp(`^tessera_webhook_lag_seconds\\{endpoint="${failing.id}"\\} 0$`, 'm'),
      );
      assert.match(
        metrics,
        new RegExp(`^tessera_webhook_lag_positions\\{endpoint="${healthy.id}"\\} \\d+$`, 'm'),
      );
      assert.match(metrics, /^tessera_webhook_queue_depth 0$/m);
    });

    it('holds the endpoints of a suspended tenant, and delivers what waited once it is back', async (t) => {
      const world = await webhookWorld(t, engine, {
        webhooks: { retry_schedule_seconds: Array.from({ length: 50 }, () => 0) },
      });
      const acme = await startWebhookReceiver();
      const globex = await startWebhookReceiver();
      t.after(() => acme.close());
      t.after(() => globex.close());
      acme.answer(503);
      await world.endpoint('acme', acme.url, { event_types: ['*'] });
      await world.endpoint('globex', globex.url, { event_types: ['*'] });
      await world.append('acme', 'a', ['one']);
      await until(() => acme.received.length >= 1, 'a first attempt');
      await world.test.services.tenancy.tenants.setStatus('acme', 'suspended');
      // Passes of the dispatcher, proved by globex's deliveries: acme's retries stop.
      const globexPass = async (n: number) => {
        await world.append('globex', 'g', [`tick.${n}`]);
        await until(() => globex.delivered().length === n, `globex delivery ${n}`);
      };
      await globexPass(1);
      await globexPass(2);
      const attempts = acme.received.length;
      await globexPass(3);
      await globexPass(4);
      assert.equal(acme.received.length, attempts, 'no attempt while suspended');
      acme.answer(200);
      await world.test.services.tenancy.tenants.setStatus('acme', 'active');
      await until(() => acme.delivered().length === 1, 'the held event after reactivation');
      assert.equal(acme.delivered()[0]?.json.type, 'one');
    });

    it('disables an endpoint answering 410, and one failing its whole schedule, telling the admins', async (t) => {
      const world = await webhookWorld(t, engine, {
        email: { transport: 'log' },
        webhooks: { retry_schedule_seconds: [0, 0] },
      });
      const admin = await world.test.services.identity.users.createUser({
        email: 'ada@acme.example',
        name: 'Ada',
        password_hash: null,
      });
      await world.adminKey('acme');
      await world.test.services.tenancy.memberships.grant('acme', admin.id, ['admin']);
      const gone = await startWebhookReceiver();
      const broken = await startWebhookReceiver();
      t.after(() => gone.close());
      t.after(() => broken.close());
      gone.answer(410);
      broken.answer(500);
      const goneHook = await world.endpoint('acme', gone.url, { event_types: ['*'] });
      const brokenHook = await world.endpoint('acme', broken.url, { event_types: ['*'] });
      await world.append('acme', 'a', ['one']);
      await until(
        async () => (await world.api('GET', `/webhooks/${brokenHook.id}`)).json.enabled === false,
        'the failing endpoint disabled',
      );
      assert.equal(broken.received.length, 3, 'the first attempt and two retries');
      const goneState = await world.api('GET', `/webhooks/${goneHook.id}`);
      assert.equal(goneState.json.enabled, false);
      assert.equal(goneState.json.disabled_reason, 'gone');
      assert.equal(gone.received.length, 1);
      const brokenState = await world.api('GET', `/webhooks/${brokenHook.id}`);
      assert.equal(brokenState.json.disabled_reason, 'failing');
      const audit = await world.api('GET', '/audit?action=webhook.disabled');
      assert.equal(audit.json.events.length, 2, JSON.stringify(audit.json));
      await until(
        async () =>
          (await outboxRows(world.test.db)).filter((row) => row.template === 'webhook_disabled')
            .length === 2,
        'two notices',
      );
      const notices = (await outboxRows(world.test.db)).filter(
        (row) => row.template === 'webhook_disabled',
      );
      assert.deepEqual(
        notices.map((row) => row.recipient),
        ['ada@acme.example', 'ada@acme.example'],
      );
      // Enabled again, the endpoint resumes at the event it held: nothing was lost.
      broken.answer(200);
      const enabled = await world.api('PATCH', `/webhooks/${brokenHook.id}`, {
        body: { enabled: true },
      });
      assert.equal(enabled.status, 200);
      await until(() => broken.delivered().length === 1, 'the held event');
      assert.equal(broken.delivered()[0]?.json.type, 'one');
    });

    it('replays from a position with the same webhook-ids, retries a logged delivery, and pings', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await startWebhookReceiver();
      t.after(() => receiver.close());
      const hook = await world.endpoint('acme', receiver.url, { event_types: ['*'] });
      const positions = await world.append('acme', 'a', ['one', 'two', 'three']);
      await until(() => receiver.received.length === 3, 'first delivery');
      const firstIds = receiver.received.map((r) => r.headers['webhook-id']);
      // The cursor is written just after the answers (deliveries are logged in batches).
      await until(
        async () =>
          (await world.api('GET', `/webhooks/${hook.id}`)).json.cursor_position >=
          (positions[2] as number),
        'the cursor written',
      );
      const replay = await world.api('POST', `/webhooks/${hook.id}/replay`, {
        body: { from_position: positions[1] },
      });
      assert.equal(replay.status, 200, JSON.stringify(replay.json));
      await until(() => receiver.received.length === 5, 'the replay');
      assert.deepEqual(
        receiver.received.slice(3).map((r) => r.headers['webhook-id']),
        firstIds.slice(1),
      );
      const ahead = await world.api('POST', `/webhooks/${hook.id}/replay`, {
        body: { from_position: (positions[2] as number) + 100 },
      });
      assert.equal(ahead.status, 409);
      assert.equal(ahead.json.code, 'webhook_replay_ahead');

      const log = await world.api('GET', `/webhooks/${hook.id}/deliveries?limit=1`);
      assert.equal(log.status, 200);
      assert.equal(log.json.deliveries.length, 1);
      assert.ok(log.json.next_cursor);
      const [newest] = log.json.deliveries;
      const retried = await world.api('POST', `/webhooks/${hook.id}/deliveries/${newest.id}/retry`);
      assert.equal(retried.status, 200, JSON.stringify(retried.json));
      assert.equal(retried.json.trigger, 'retry');
      assert.equal(retried.json.message_id, newest.message_id);
      assert.equal(retried.json.outcome, 'delivered');

      const ping = await world.api('POST', `/webhooks/${hook.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      assert.equal(ping.json.type, 'tessera.webhook.test');
      assert.equal(ping.json.outcome, 'delivered');
      const pinged = receiver.received.at(-1);
      assert.equal(pinged?.json.type, 'tessera.webhook.test');
      receiver.verify(pinged as never, hook.secret);
    });

    it('signs with both secrets during a rotation, so a receiver with either verifies', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await startWebhookReceiver();
      t.after(() => receiver.close());
      const hook = await world.endpoint('acme', receiver.url, { event_types: ['*'] });
      const rotated = await world.api('POST', `/webhooks/${hook.id}/secret/rotate`);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
      assert.notEqual(rotated.json.secret, hook.secret);
      assert.ok(rotated.json.previous_secret_expires_at);
      await world.append('acme', 'a', ['one']);
      await until(() => receiver.received.length === 1, 'a delivery');
      const [received] = receiver.received;
      assert.equal(String(received?.headers['webhook-signature']).split(' ').length, 2);
      receiver.verify(received as never, hook.secret);
      receiver.verify(received as never, rotated.json.secret);
    });
  });
}
