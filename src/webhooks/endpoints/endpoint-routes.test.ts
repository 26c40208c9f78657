import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { mfaPolicyApp } from '../../../test/helpers/mfa-policy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { type WebhookWorld, webhookWorld } from '../../../test/helpers/webhook-fixture.ts';
import {
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../../test/helpers/webhook-receiver.ts';
import { defaultConfig } from '../../config/load.ts';

// Issue 21, item 1: the HTTP API of webhook endpoints (/api/v1/webhooks), on both
// engines. Deliveries themselves are test/e2e/webhooks-delivery.test.ts's.

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

const WEBHOOK_ACTIONS = [
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
  'webhook.replayed',
];

async function receiverFor(t: TestContext): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.close());
  return receiver;
}

/** What a route must never show nor the trail keep: the secret, and its sealed box. */
function assertHides(text: string, secrets: readonly string[], boxes: readonly string[]) {
  assert.doesNotMatch(text, /secret_box/, 'no sealed box field');
  assert.doesNotMatch(text, /whsec_/, 'no signing secret');
  for (const secret of secrets) {
    const key = secret.slice('whsec_'.length);
    assert.ok(!text.includes(key), 'not the secret’s key, even without its prefix');
  }
  for (const box of boxes) assert.ok(!text.includes(box), 'not a sealed box');
}

async function rowOf(world: WebhookWorld, id: string) {
  return world.test.db.kysely
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
}

/** What a change of the endpoint would touch (not the dispatcher's cursor or lease). */
async function settingsOf(world: WebhookWorld, id: string) {
  const row = await rowOf(world, id);
  assert.ok(row, `row ${id}`);
  return {
    tenant_id: row.tenant_id,
    url: row.url,
    description: row.description,
    enabled: Number(row.enabled),
    disabled_reason: row.disabled_reason,
    filters: row.filters,
    secret_box: row.secret_box,
    previous_secret_box: row.previous_secret_box,
    previous_secret_until_ms: row.previous_secret_until_ms,
    updated_ms: Number(row.updated_ms),
  };
}

async function endpointCount(world: WebhookWorld, tenant?: string): Promise<number> {
  let query = world.test.db.kysely.selectFrom('webhook_endpoints').select('id');
  if (tenant) query = query.where('tenant_id', '=', tenant);
  return (await query.execute()).length;
}

async function attemptCount(world: WebhookWorld, endpointId: string): Promise<number> {
  const rows = await world.test.db.kysely
    .selectFrom('webhook_attempts')
    .select('id')
    .where('endpoint_id', '=', endpointId)
    .execute();
  return rows.length;
}

async function auditOf(
  world: WebhookWorld,
  actions: readonly string[],
  tenant = 'acme',
): Promise<Json> {
  const query = actions.map((action) => `action=${action}`).join('&');
  const reply = await world.api('GET', `/audit?order=asc&limit=1000&${query}`, { tenant });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  return reply.json;
}

function refused(reply: { status: number; json: Json }, status: number, code: string, what = '') {
  assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.json)}`);
  assert.equal(reply.json?.code, code, `${what}: ${JSON.stringify(reply.json)}`);
}

const without = (json: Json, key: string) => {
  const { [key]: _dropped, ...rest } = json;
  return rest;
};

for (const engine of testEngines()) {
  describe(`/api/v1/webhooks (${engine})`, () => {
    it('creates, reads, pages, changes, rotates, replays and deletes; the secret is shown once and never again', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const created = await world.api('POST', '/webhooks', {
        body: {
          url: receiver.url,
          description: '  Orders  ',
          event_types: ['order.*'],
          entity_prefix: 'order-',
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const { id, secret } = created.json;
      assert.match(id, /^wh_[A-Za-z0-9_-]{24}$/);
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
      assert.equal(Buffer.from(secret.slice(6), 'base64').length >= 24, true, 'a real key');
      assert.equal(created.json.url, receiver.url);
      assert.equal(created.json.description, 'Orders', 'trimmed');
      assert.equal(created.json.enabled, true);
      assert.equal(created.json.disabled_reason, null);
      assert.deepEqual(created.json.event_types, ['order.*']);
      assert.equal(created.json.entity_prefix, 'order-');
      assert.deepEqual(created.json.platform_events, []);
      assert.equal(created.json.failing, null);
      assert.equal(created.json.previous_secret_expires_at, null);
      assert.ok(Number.isInteger(created.json.cursor_position));
      assert.ok(!('secret_box' in created.json));

      // Stored sealed: the row's box holds neither the secret nor its key in any encoding.
      const row = await rowOf(world, id);
      assert.ok(row);
      const key = Buffer.from(secret.slice(6), 'base64');
      for (const form of [
        secret,
        secret.slice(6),
        key.toString('hex'),
        key.toString('base64url'),
      ]) {
        assert.ok(!row.secret_box.includes(form), 'the box is sealed');
      }
      assert.equal(row.previous_secret_box, null);
      const boxes = [row.secret_box];
      const secrets: string[] = [secret];

      const one = await world.api('GET', `/webhooks/${id}`);
      assert.equal(one.status, 200);
      // The same endpoint (the cursor may have moved past events that do not match).
      assert.deepEqual(
        without(one.json, 'cursor_position'),
        without(without(created.json, 'secret'), 'cursor_position'),
      );
      assert.ok(one.json.cursor_position >= created.json.cursor_position);
      assertHides(JSON.stringify(one.json), secrets, boxes);

      // Paging: `limit` a page, `next_cursor` the last id of a full page, null at the end;
      // the pages together are the whole list, once each, in its order (by id, in the
      // database's collation).
      const second = await world.endpoint('acme', receiver.url, { event_types: ['invoice.*'] });
      const third = await world.endpoint('acme', receiver.url, { event_types: ['refund.*'] });
      secrets.push(second.secret, third.secret);
      const whole = await world.api('GET', '/webhooks');
      assert.equal(whole.status, 200);
      assert.equal(whole.json.next_cursor, null);
      const order = whole.json.webhooks.map((hook: Json) => hook.id);
      assert.deepEqual([...order].sort(), [id, second.id, third.id].sort());
      const page1 = await world.api('GET', '/webhooks?limit=2');
      assert.equal(page1.status, 200);
      assert.deepEqual(
        page1.json.webhooks.map((hook: Json) => hook.id),
        order.slice(0, 2),
      );
      assert.equal(page1.json.next_cursor, order[1]);
      const page2 = await world.api('GET', `/webhooks?limit=2&after=${page1.json.next_cursor}`);
      assert.equal(page2.status, 200);
      assert.deepEqual(
        page2.json.webhooks.map((hook: Json) => hook.id),
        order.slice(2),
      );
      assert.equal(page2.json.next_cursor, null);
      const exact = await world.api('GET', '/webhooks?limit=3');
      assert.equal(exact.json.webhooks.length, 3);
      assert.equal(exact.json.next_cursor, order[2], 'a full page points on');
      const past = await world.api('GET', `/webhooks?after=${order[2]}`);
      assert.deepEqual(past.json, { webhooks: [], next_cursor: null });
      for (const listed of [page1, page2, whole])
        assertHides(JSON.stringify(listed.json), secrets, boxes);

      const patched = await world.api('PATCH', `/webhooks/${id}`, {
        body: { description: 'Paid orders', event_types: ['order.paid'], entity_prefix: null },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.json));
      assert.equal(patched.json.description, 'Paid orders');
      assert.deepEqual(patched.json.event_types, ['order.paid']);
      assert.equal(patched.json.entity_prefix, null);
      assert.equal(patched.json.url, receiver.url, 'unchanged');
      assert.equal(patched.json.created_at, created.json.created_at);
      assert.ok(patched.json.updated_at >= created.json.updated_at);
      assertHides(JSON.stringify(patched.json), secrets, boxes);

      const rotated = await world.api('POST', `/webhooks/${id}/secret/rotate`);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
      assert.match(rotated.json.secret, /^whsec_/);
      assert.notEqual(rotated.json.secret, secret);
      const graceEnds = Date.parse(rotated.json.previous_secret_expires_at);
      const grace = defaultConfig().webhooks.secret_grace_seconds * 1000;
      assert.ok(Math.abs(graceEnds - (Date.now() + grace)) < 60_000, 'the grace period');
      const rotatedRow = await rowOf(world, id);
      assert.ok(rotatedRow);
      assert.equal(rotatedRow.previous_secret_box, row.secret_box, 'the old box signs on');
      assert.notEqual(rotatedRow.secret_box, row.secret_box);
      for (const form of [rotated.json.secret, rotated.json.secret.slice(6), secret.slice(6)]) {
        assert.ok(!rotatedRow.secret_box.includes(form));
      }
      // Only the rotation's answer shows the new secret.
      assertHides(JSON.stringify(without(rotated.json, 'secret')), secrets, boxes);
      secrets.push(rotated.json.secret);
      boxes.push(rotatedRow.secret_box);
      const afterRotation = await world.api('GET', `/webhooks/${id}`);
      assert.equal(
        afterRotation.json.previous_secret_expires_at,
        rotated.json.previous_secret_expires_at,
      );
      assertHides(JSON.stringify(afterRotation.json), secrets, boxes);

      const replayed = await world.api('POST', `/webhooks/${id}/replay`, {
        body: { from_position: 1 },
      });
      assert.equal(replayed.status, 200, JSON.stringify(replayed.json));
      assert.equal(replayed.json.cursor_position, 0);
      assertHides(JSON.stringify(replayed.json), secrets, boxes);

      const deleted = await world.api('DELETE', `/webhooks/${id}`);
      assert.equal(deleted.status, 204);
      assert.equal(deleted.json, undefined, 'no body');
      refused(await world.api('GET', `/webhooks/${id}`), 404, 'webhook_not_found', 'gone');
      refused(await world.api('DELETE', `/webhooks/${id}`), 404, 'webhook_not_found', 'twice');
      assert.equal(await rowOf(world, id), undefined);
      assert.equal(await endpointCount(world), 2);

      const trail = await auditOf(world, WEBHOOK_ACTIONS);
      assert.deepEqual(
        trail.events.map((event: Json) => event.event_type),
        [
          'webhook.created',
          'webhook.created',
          'webhook.created',
          'webhook.updated',
          'webhook.secret_rotated',
          'webhook.replayed',
          'webhook.deleted',
        ],
      );
      const ofFirst = trail.events.filter(
        (event: Json) => event.payload.target === `webhook:${id}`,
      );
      assert.deepEqual(
        ofFirst.map((event: Json) => event.event_type),
        [
          'webhook.created',
          'webhook.updated',
          'webhook.secret_rotated',
          'webhook.replayed',
          'webhook.deleted',
        ],
      );
      const updated = ofFirst[1].payload;
      assert.deepEqual(updated.details.changed, ['description', 'entity_prefix', 'event_types']);
      assert.equal(updated.outcome, 'success');
      assert.equal(ofFirst[3].payload.details.from_position, 1);
      assert.equal(typeof ofFirst[3].payload.details.previous_cursor, 'number');
      // The rotation records until when the old secret signs (docs/audit.md: grace_until).
      assert.equal(ofFirst[2].payload.details.grace_until, rotated.json.previous_secret_expires_at);
      for (const action of WEBHOOK_ACTIONS) {
        const single = await auditOf(world, [action]);
        assert.ok(single.events.length >= 1, action);
        assert.ok(
          single.events.every((event: Json) => event.event_type === action),
          action,
        );
      }
      assertHides(JSON.stringify(trail), secrets, boxes);
    });

    it('refuses invalid endpoints, changes and replays with 400 validation_failed, storing nothing', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const url = receiver.url;
      const host = new URL(url).host;
      // [body, the field error's path when the service (not the schema) finds it]
      const cases: [string, object, string?][] = [
        ['missing url', { event_types: ['*'] }],
        ['empty url', { url: '', event_types: ['*'] }],
        ['not a URL', { url: 'not a url', event_types: ['*'] }, '/url'],
        ['ftp', { url: `ftp://${host}/hooks`, event_types: ['*'] }, '/url'],
        ['user:pass@', { url: `http://user:pass@${host}/hooks`, event_types: ['*'] }, '/url'],
        ['user@', { url: `http://user@${host}/hooks`, event_types: ['*'] }, '/url'],
        ['fragment', { url: `${url}#part`, event_types: ['*'] }, '/url'],
        ['nothing to receive', { url }, '/event_types'],
        ['empty filters', { url, event_types: [], platform_events: [] }, '/event_types'],
        [
          'entity_prefix without event_types',
          { url, platform_events: ['user.*'], entity_prefix: 'order-' },
          '/entity_prefix',
        ],
        ['duplicate event type', { url, event_types: ['order.*', 'order.*'] }, '/event_types'],
        [
          'duplicate platform event',
          { url, platform_events: ['user.*', 'user.*'] },
          '/platform_events',
        ],
        ['pattern with a space', { url, event_types: ['order placed'] }],
        ['pattern with a slash', { url, event_types: ['order/placed'] }],
        ['platform pattern with a slash', { url, platform_events: ['user/created'] }],
        ['empty pattern', { url, event_types: [''] }],
        ['pattern not in a list', { url, event_types: 'order.*' }],
        ['51 patterns', { url, event_types: Array.from({ length: 51 }, (_, n) => `type.${n}`) }],
        ['unknown field', { url, event_types: ['*'], colour: 'red' }],
        ['a secret of its own', { url, event_types: ['*'], secret: 'whsec_mine' }],
        ['empty entity_prefix', { url, event_types: ['*'], entity_prefix: '' }],
        ['enabled as a string', { url, event_types: ['*'], enabled: 'yes' }],
      ];
      for (const [what, body, path] of cases) {
        const reply = await world.api('POST', '/webhooks', { body });
        refused(reply, 400, 'validation_failed', what);
        assert.ok(Array.isArray(reply.json.errors) && reply.json.errors.length > 0, what);
        if (path) assert.equal(reply.json.errors[0].path, path, what);
      }
      // Exactly 50 distinct patterns is the most, and allowed.
      const fifty = await world.api('POST', '/webhooks', {
        body: { url, event_types: Array.from({ length: 50 }, (_, n) => `type.${n}`) },
      });
      assert.equal(fifty.status, 201, JSON.stringify(fifty.json));
      assert.equal(await endpointCount(world), 1, 'nothing stored by a refused request');
      assert.equal((await auditOf(world, ['webhook.created'])).events.length, 1);

      const { id } = fifty.json;
      const before = await settingsOf(world, id);
      const changes: [string, unknown, string?][] = [
        ['empty body', {}],
        ['unknown field', { colour: 'red' }],
        ['ftp', { url: `ftp://${host}/x` }, '/url'],
        ['fragment', { url: `${url}#x` }, '/url'],
        ['nothing to receive', { event_types: [] }, '/event_types'],
        [
          'entity_prefix without event_types',
          { event_types: [], platform_events: ['user.*'], entity_prefix: 'x' },
          '/entity_prefix',
        ],
        ['duplicate pattern', { event_types: ['a', 'a'] }, '/event_types'],
        ['pattern with a space', { event_types: ['a b'] }],
        ['null url', { url: null }],
      ];
      for (const [what, body, path] of changes) {
        const reply = await world.api('PATCH', `/webhooks/${id}`, { body });
        refused(reply, 400, 'validation_failed', `PATCH ${what}`);
        if (path) assert.equal(reply.json.errors[0].path, path, what);
      }
      assert.deepEqual(await settingsOf(world, id), before, 'PATCH changed nothing');
      assert.equal((await auditOf(world, ['webhook.updated'])).events.length, 0);

      const cursor = (await world.api('GET', `/webhooks/${id}`)).json.cursor_position;
      const replays: [string, unknown][] = [
        ['from_position 0', { from_position: 0 }],
        ['negative', { from_position: -1 }],
        ['a string', { from_position: '1' }],
        ['a word', { from_position: 'start' }],
        ['a fraction', { from_position: 1.5 }],
        ['missing', {}],
        ['unknown field', { from_position: 1, to_position: 2 }],
        ['past 2^53', { from_position: 2 ** 60 }],
      ];
      for (const [what, body] of replays) {
        refused(
          await world.api('POST', `/webhooks/${id}/replay`, { body }),
          400,
          'validation_failed',
          `replay ${what}`,
        );
      }
      // Not rewound (the dispatcher may only have moved it on, past what does not match).
      assert.ok((await world.api('GET', `/webhooks/${id}`)).json.cursor_position >= cursor);
      assert.equal((await auditOf(world, ['webhook.replayed'])).events.length, 0);
      const paging = await world.api('GET', '/webhooks?limit=0');
      refused(paging, 400, 'validation_failed', 'limit 0');
    });

    it('requires https, and refuses internal address literals, where the settings say so', async (t) => {
      const world = await webhookWorld(t, engine, {
        webhooks: { allow_insecure_urls: false, allow_private_networks: false },
      });
      const urls = [
        'http://hooks.example.com/in',
        'https://127.0.0.1/in',
        'https://169.254.169.254/latest/meta-data',
        'https://10.1.2.3/in',
        'https://[::1]/in',
      ];
      for (const url of urls) {
        const reply = await world.api('POST', '/webhooks', { body: { url, event_types: ['*'] } });
        refused(reply, 400, 'validation_failed', url);
        assert.equal(reply.json.errors[0].path, '/url', url);
      }
      assert.match(
        (await world.api('POST', '/webhooks', { body: { url: urls[0], event_types: ['*'] } })).json
          .detail,
        /https/,
      );
      assert.equal(await endpointCount(world), 0);
      // A name is checked at each connection, not here; https is fine.
      const ok = await world.api('POST', '/webhooks', {
        body: { url: 'https://hooks.example.com/in', event_types: ['order.*'] },
      });
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
      // Nor may a change turn an endpoint insecure.
      refused(
        await world.api('PATCH', `/webhooks/${ok.json.id}`, {
          body: { url: 'http://hooks.example.com/in' },
        }),
        400,
        'validation_failed',
        'PATCH to http',
      );
      assert.equal((await rowOf(world, ok.json.id))?.url, 'https://hooks.example.com/in');
    });

    it('a developer key (no webhooks:manage) is refused every route, and nothing changes', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const hook = await world.endpoint('acme', receiver.url, { event_types: ['order.*'] });
      const ping = await world.api('POST', `/webhooks/${hook.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      const before = await settingsOf(world, hook.id);
      const developer = await apiKeyFor(world.test.services, 'acme', 'developer');
      const routes: [string, string, object?][] = [
        ['POST', '/webhooks', { url: receiver.url, event_types: ['*'] }],
        ['GET', '/webhooks'],
        ['GET', `/webhooks/${hook.id}`],
        ['PATCH', `/webhooks/${hook.id}`, { description: 'mine now' }],
        ['DELETE', `/webhooks/${hook.id}`],
        ['POST', `/webhooks/${hook.id}/secret/rotate`],
        ['POST', `/webhooks/${hook.id}/replay`, { from_position: 1 }],
        ['POST', `/webhooks/${hook.id}/test`],
        ['GET', `/webhooks/${hook.id}/deliveries`],
        ['POST', `/webhooks/${hook.id}/deliveries/${ping.json.id}/retry`],
      ];
      // The table covers every webhook operation the API documents.
      const spec = world.test.app.swagger() as { paths: Record<string, object> };
      const documented = Object.entries(spec.paths)
        .filter(([path]) => path.startsWith('/api/v1/webhooks'))
        .flatMap(([path, methods]) =>
          Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
        )
        .sort();
      const tested = routes
        .map(
          ([method, url]) =>
            `${method} /api/v1${url
              .replace(hook.id, '{id}')
              .replace(ping.json.id, '{delivery_id}')}`,
        )
        .sort();
      assert.deepEqual(tested, documented);
      for (const [method, url, body] of routes) {
        const reply = await world.api(method, url, { key: developer, body });
        refused(reply, 403, 'permission_denied', `${method} ${url}`);
        assert.equal(reply.json.permission, 'webhooks:manage', `${method} ${url}`);
        assertHides(JSON.stringify(reply.json), [hook.secret], [before.secret_box]);
      }
      assert.deepEqual(await settingsOf(world, hook.id), before);
      assert.equal(await endpointCount(world), 1);
      assert.equal(await attemptCount(world, hook.id), 1, 'no ping, no retry');
      assert.equal(receiver.received.length, 1);
      const denied = await auditOf(world, ['request.denied']);
      assert.ok(denied.events.length >= routes.length, 'each refusal audited');
    });

    it('an endpoint may only receive what its creator may read (events:read, audit:read)', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const roles: [string, string[]][] = [
        ['hooks-events', ['webhooks:manage', 'events:read']],
        ['hooks-audit', ['webhooks:manage', 'audit:read']],
        ['hooks-only', ['webhooks:manage']],
      ];
      for (const [name, permissions] of roles) {
        const made = await world.api('POST', '/roles', { body: { name, permissions } });
        assert.equal(made.status, 201, JSON.stringify(made.json));
      }
      const services = world.test.services;
      const events = await apiKeyFor(services, 'acme', 'hooks-events');
      const audit = await apiKeyFor(services, 'acme', 'hooks-audit');
      const only = await apiKeyFor(services, 'acme', 'hooks-only');
      const create = (key: string, filters: object) =>
        world.api('POST', '/webhooks', { key, body: { url: receiver.url, ...filters } });
      const denied = async (
        reply: { status: number; json: Json },
        permission: string,
        what: string,
      ) => {
        refused(reply, 403, 'permission_denied', what);
        assert.equal(reply.json.permission, permission, what);
      };

      await denied(
        await create(audit, { event_types: ['order.*'] }),
        'events:read',
        'audit → events',
      );
      await denied(
        await create(events, { platform_events: ['user.*'] }),
        'audit:read',
        'events → platform',
      );
      await denied(
        await create(events, { event_types: ['*'], platform_events: ['*'] }),
        'audit:read',
        'events → both',
      );
      await denied(await create(only, { event_types: ['*'] }), 'events:read', 'only → events');
      await denied(await create(only, { platform_events: ['*'] }), 'audit:read', 'only → platform');
      assert.equal(await endpointCount(world), 0, 'nothing stored');

      const ofEvents = await create(events, { event_types: ['order.*'] });
      assert.equal(ofEvents.status, 201, JSON.stringify(ofEvents.json));
      const ofAudit = await create(audit, { platform_events: ['user.*'] });
      assert.equal(ofAudit.status, 201, JSON.stringify(ofAudit.json));
      // webhooks:manage alone still lists them (they show no secret).
      const listed = await world.api('GET', '/webhooks', { key: only });
      assert.equal(listed.status, 200);
      assert.equal(listed.json.webhooks.length, 2);

      // A change may not widen an endpoint beyond the caller either, nor touch one
      // that already reaches further: the endpoint as it would be is checked.
      const eventsBefore = await settingsOf(world, ofEvents.json.id);
      const auditBefore = await settingsOf(world, ofAudit.json.id);
      await denied(
        await world.api('PATCH', `/webhooks/${ofEvents.json.id}`, {
          key: events,
          body: { platform_events: ['*'] },
        }),
        'audit:read',
        'widen to platform',
      );
      await denied(
        await world.api('PATCH', `/webhooks/${ofAudit.json.id}`, {
          key: events,
          body: { url: `${receiver.url}/elsewhere` },
        }),
        'audit:read',
        'redirect a platform endpoint',
      );
      assert.deepEqual(await settingsOf(world, ofEvents.json.id), eventsBefore);
      assert.deepEqual(await settingsOf(world, ofAudit.json.id), auditBefore);
      const narrowed = await world.api('PATCH', `/webhooks/${ofEvents.json.id}`, {
        key: events,
        body: { event_types: ['order.paid'] },
      });
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.json));
    });

    it('another tenant’s admin sees none of acme’s endpoints, deliveries or secrets, and changes nothing', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const hook = await world.endpoint('acme', receiver.url, { event_types: ['order.*'] });
      const ping = await world.api('POST', `/webhooks/${hook.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      const own = await world.endpoint('globex', receiver.url, { event_types: ['*'] });
      const before = await settingsOf(world, hook.id);
      const received = receiver.received.length;
      const as = { tenant: 'globex' };
      const routes: [string, string, object?][] = [
        ['GET', `/webhooks/${hook.id}`],
        ['PATCH', `/webhooks/${hook.id}`, { url: `${receiver.url}/globex`, event_types: ['*'] }],
        ['PATCH', `/webhooks/${hook.id}`, { enabled: false }],
        ['POST', `/webhooks/${hook.id}/secret/rotate`],
        ['POST', `/webhooks/${hook.id}/replay`, { from_position: 1 }],
        ['POST', `/webhooks/${hook.id}/test`],
        ['GET', `/webhooks/${hook.id}/deliveries`],
        ['POST', `/webhooks/${hook.id}/deliveries/${ping.json.id}/retry`],
        ['DELETE', `/webhooks/${hook.id}`],
      ];
      for (const [method, url, body] of routes) {
        const reply = await world.api(method, url, { ...as, body });
        refused(reply, 404, 'webhook_not_found', `${method} ${url}`);
        assertHides(JSON.stringify(reply.json), [hook.secret], [before.secret_box]);
        assert.ok(!JSON.stringify(reply.json).includes(receiver.url), 'not acme’s URL');
      }
      // acme's delivery id through globex's own endpoint: not there either.
      refused(
        await world.api('POST', `/webhooks/${own.id}/deliveries/${ping.json.id}/retry`, as),
        404,
        'webhook_delivery_not_found',
        'retry through its own endpoint',
      );
      const list = await world.api('GET', '/webhooks', as);
      assert.deepEqual(
        list.json.webhooks.map((w: Json) => w.id),
        [own.id],
      );
      const log = await world.api('GET', `/webhooks/${own.id}/deliveries`, as);
      assert.equal(log.status, 200);
      assert.ok(log.json.deliveries.every((d: Json) => d.id !== ping.json.id));

      assert.deepEqual(await settingsOf(world, hook.id), before, 'acme’s endpoint unchanged');
      assert.equal(await attemptCount(world, hook.id), 1);
      assert.equal(receiver.received.length, received, 'nothing sent for globex');
      const acmeTrail = await auditOf(world, WEBHOOK_ACTIONS);
      assert.deepEqual(
        acmeTrail.events.map((event: Json) => event.event_type),
        ['webhook.created'],
      );
      const globexTrail = await auditOf(world, WEBHOOK_ACTIONS, 'globex');
      assert.deepEqual(
        globexTrail.events.map((event: Json) => event.event_type),
        ['webhook.created'],
      );
      assert.doesNotMatch(JSON.stringify(globexTrail), new RegExp(hook.id));
      // acme still manages it.
      assert.equal((await world.api('GET', `/webhooks/${hook.id}`)).status, 200);
    });

    it('a tenant on the free plan gets 429 quota_exceeded on its 4th endpoint', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      await world.test.services.tenancy.tenants.create({ id: 'tiny', name: 'Tiny', plan: 'free' });
      const body = { url: receiver.url, event_types: ['*'] };
      for (let n = 0; n < 3; n++) {
        const made = await world.api('POST', '/webhooks', { tenant: 'tiny', body });
        assert.equal(made.status, 201, JSON.stringify(made.json));
      }
      const fourth = await world.api('POST', '/webhooks', { tenant: 'tiny', body });
      refused(fourth, 429, 'quota_exceeded', '4th');
      assert.equal(fourth.json.quota, 'max_webhooks');
      assert.equal(fourth.json.limit, 3);
      assert.equal(fourth.json.used, 3);
      assert.equal(await endpointCount(world, 'tiny'), 3);
      assert.equal((await auditOf(world, ['webhook.created'], 'tiny')).events.length, 3);
      // Disabled endpoints count too; deleting one frees a place.
      const [first] = (await world.api('GET', '/webhooks', { tenant: 'tiny' })).json.webhooks;
      await world.api('PATCH', `/webhooks/${first.id}`, {
        tenant: 'tiny',
        body: { enabled: false },
      });
      refused(
        await world.api('POST', '/webhooks', { tenant: 'tiny', body }),
        429,
        'quota_exceeded',
        'disabled counts',
      );
      assert.equal(
        (await world.api('DELETE', `/webhooks/${first.id}`, { tenant: 'tiny' })).status,
        204,
      );
      assert.equal((await world.api('POST', '/webhooks', { tenant: 'tiny', body })).status, 201);
      // An unlimited tenant beside it is not held back.
      for (let n = 0; n < 4; n++) {
        assert.equal((await world.api('POST', '/webhooks', { tenant: 'acme', body })).status, 201);
      }
    });

    it('webhooks.max_endpoints_per_tenant caps even an unlimited tenant: 409 webhook_limit_reached', async (t) => {
      const world = await webhookWorld(t, engine, { webhooks: { max_endpoints_per_tenant: 2 } });
      const receiver = await receiverFor(t);
      const body = { url: receiver.url, event_types: ['*'] };
      const made: string[] = [];
      for (let n = 0; n < 2; n++) {
        const reply = await world.api('POST', '/webhooks', { body });
        assert.equal(reply.status, 201, JSON.stringify(reply.json));
        made.push(reply.json.id);
      }
      const third = await world.api('POST', '/webhooks', { body });
      refused(third, 409, 'webhook_limit_reached', '3rd');
      assert.equal(third.json.limit, 2);
      assert.equal(await endpointCount(world, 'acme'), 2);
      // Per tenant: globex has its own two.
      for (let n = 0; n < 2; n++) {
        assert.equal(
          (await world.api('POST', '/webhooks', { tenant: 'globex', body })).status,
          201,
        );
      }
      refused(
        await world.api('POST', '/webhooks', { tenant: 'globex', body }),
        409,
        'webhook_limit_reached',
        'globex 3rd',
      );
      assert.equal((await world.api('DELETE', `/webhooks/${made[0]}`)).status, 204);
      assert.equal((await world.api('POST', '/webhooks', { body })).status, 201);
    });

    it('refuses a replay ahead of delivery (409) and a retry of a delivery the endpoint never made (404)', async (t) => {
      const world = await webhookWorld(t, engine);
      const receiver = await receiverFor(t);
      const hook = await world.endpoint('acme', receiver.url, { event_types: ['order.*'] });
      const other = await world.endpoint('acme', receiver.url, { event_types: ['order.*'] });
      const { cursor_position: cursor } = (await world.api('GET', `/webhooks/${hook.id}`)).json;
      // Far ahead: the dispatcher may move the cursor over events that do not match,
      // never by a thousand positions here.
      const ahead = await world.api('POST', `/webhooks/${hook.id}/replay`, {
        body: { from_position: cursor + 1000 },
      });
      refused(ahead, 409, 'webhook_replay_ahead', 'ahead');
      assert.ok(ahead.json.cursor_position >= cursor, JSON.stringify(ahead.json));
      assert.match(ahead.json.detail, new RegExp(`from ${cursor + 1000}`));
      assert.equal((await auditOf(world, ['webhook.replayed'])).events.length, 0);
      // From the position after the cursor: nothing skipped, so accepted; the cursor is
      // set to the position before it.
      const next = await world.api('POST', `/webhooks/${hook.id}/replay`, {
        body: { from_position: cursor + 1 },
      });
      assert.equal(next.status, 200, JSON.stringify(next.json));
      assert.equal(next.json.cursor_position, cursor);

      refused(
        await world.api('POST', `/webhooks/${hook.id}/deliveries/no-such-delivery/retry`),
        404,
        'webhook_delivery_not_found',
        'unknown id',
      );
      const ping = await world.api('POST', `/webhooks/${other.id}/test`);
      assert.equal(ping.status, 200, JSON.stringify(ping.json));
      refused(
        await world.api('POST', `/webhooks/${hook.id}/deliveries/${ping.json.id}/retry`),
        404,
        'webhook_delivery_not_found',
        'another endpoint’s delivery',
      );
      refused(
        await world.api('POST', '/webhooks/wh_nope/deliveries/no-such-delivery/retry'),
        404,
        'webhook_not_found',
        'unknown endpoint',
      );
      assert.equal(receiver.received.length, 1, 'only the ping was sent');

      // The delivery log pages newest first.
      const pings = [ping.json.id];
      for (let n = 0; n < 2; n++) {
        const more = await world.api('POST', `/webhooks/${other.id}/test`);
        assert.equal(more.status, 200, JSON.stringify(more.json));
        pings.push(more.json.id);
      }
      const log1 = await world.api('GET', `/webhooks/${other.id}/deliveries?limit=2`);
      assert.equal(log1.status, 200, JSON.stringify(log1.json));
      assert.deepEqual(
        log1.json.deliveries.map((d: Json) => d.id),
        [pings[2], pings[1]],
      );
      assert.equal(log1.json.next_cursor, pings[1]);
      const log2 = await world.api(
        'GET',
        `/webhooks/${other.id}/deliveries?limit=2&after=${log1.json.next_cursor}`,
      );
      assert.deepEqual(
        log2.json.deliveries.map((d: Json) => d.id),
        [pings[0]],
      );
      assert.equal(log2.json.next_cursor, null);
      for (const d of [...log1.json.deliveries, ...log2.json.deliveries]) {
        assert.equal(d.trigger, 'ping');
        assert.equal(d.type, 'tessera.webhook.test');
        assert.equal(d.outcome, 'delivered');
        assert.equal(d.status, 204);
      }
      assert.deepEqual(
        (await world.api('GET', `/webhooks/${hook.id}/deliveries`)).json.deliveries,
        [],
        'each endpoint its own log',
      );
      const retried = await world.api(
        'POST',
        `/webhooks/${other.id}/deliveries/${ping.json.id}/retry`,
      );
      assert.equal(retried.status, 200, JSON.stringify(retried.json));
      assert.equal(retried.json.trigger, 'retry');
      assert.equal(retried.json.attempt, 2);
    });

    it('disabling by hand records why, enabling clears it, and the endpoint resumes where it stopped', async (t) => {
      // A long lease: a re-enabled endpoint must not wait for the one it had to run out.
      const LEASE_MS = 60_000;
      const world = await webhookWorld(t, engine, { webhooks: { lease_ms: LEASE_MS } });
      const receiver = await receiverFor(t);
      const born = await world.api('POST', '/webhooks', {
        body: { url: receiver.url, event_types: ['order.*'], enabled: false },
      });
      assert.equal(born.status, 201, JSON.stringify(born.json));
      assert.equal(born.json.enabled, false);
      assert.equal(born.json.disabled_reason, 'manual');
      const { id } = born.json;

      const on = await world.api('PATCH', `/webhooks/${id}`, { body: { enabled: true } });
      assert.equal(on.status, 200, JSON.stringify(on.json));
      assert.equal(on.json.enabled, true);
      assert.equal(on.json.disabled_reason, null);
      await until(async () => (await rowOf(world, id))?.lease_owner != null, 'a node claims it');

      const off = await world.api('PATCH', `/webhooks/${id}`, { body: { enabled: false } });
      assert.equal(off.status, 200, JSON.stringify(off.json));
      assert.equal(off.json.enabled, false);
      assert.equal(off.json.disabled_reason, 'manual');
      const released = await rowOf(world, id);
      assert.equal(released?.lease_owner, null, 'a disabled endpoint holds no lease');
      assert.equal(released?.lease_until_ms, null);
      // Another change leaves it disabled, and why.
      const renamed = await world.api('PATCH', `/webhooks/${id}`, { body: { description: 'x' } });
      assert.equal(renamed.json.enabled, false);
      assert.equal(renamed.json.disabled_reason, 'manual');

      // Nothing is delivered while disabled, and nothing is lost: enabled again, it
      // delivers what arrived meanwhile.
      await world.append('acme', 'order-1', ['order.placed']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.received.length, 0);
      const again = await world.api('PATCH', `/webhooks/${id}`, { body: { enabled: true } });
      assert.equal(again.json.enabled, true);
      assert.equal(again.json.disabled_reason, null);
      assert.equal(again.json.failing, null);
      const enabledAt = Date.now();
      await until(() => receiver.delivered().length === 1, 'the event held while disabled');
      const waited = Date.now() - enabledAt;
      assert.ok(waited < LEASE_MS / 4, `delivered ${waited} ms after re-enabling`);
      assert.equal(receiver.delivered()[0]?.json.type, 'order.placed');

      const trail = await auditOf(world, ['webhook.updated']);
      assert.deepEqual(
        trail.events.map((event: Json) => [
          event.payload.details.changed,
          event.payload.details.enabled,
        ]),
        [
          [['enabled'], true],
          [['enabled'], false],
          [['description'], false],
          [['enabled'], true],
        ],
      );
    });

    it('where the tenant requires MFA, changing endpoints needs a recent second factor (step_up_required)', async (t) => {
      const app = await mfaPolicyApp(t, engine);
      const admin = await app.member('acme', 'ada@acme.test', ['admin']);
      await app.giveTotp(admin.id);
      await app.setPolicy('acme', 'all');
      await app.proveSecondFactor(admin.token);
      const body = { url: 'https://hooks.example.com/in', event_types: ['order.*'] };
      const fresh = await app.send('POST', '/webhooks', admin.token, body);
      assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
      const id = fresh.body.id as string;

      app.clockAhead(defaultConfig().mfa.step_up_seconds + 1);
      const sensitive: [string, string, object?][] = [
        ['POST', '/webhooks', body],
        ['PATCH', `/webhooks/${id}`, { description: 'x' }],
        ['DELETE', `/webhooks/${id}`],
        ['POST', `/webhooks/${id}/secret/rotate`],
        ['POST', `/webhooks/${id}/replay`, { from_position: 1 }],
      ];
      for (const [method, url, payload] of sensitive) {
        const reply = await app.send(method, url, admin.token, payload);
        assert.equal(reply.status, 403, `${method} ${url}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.code, 'step_up_required', `${method} ${url}`);
      }
      // Reading is not sensitive: a stale session still sees them.
      for (const url of ['/webhooks', `/webhooks/${id}`, `/webhooks/${id}/deliveries`]) {
        assert.equal((await app.send('GET', url, admin.token)).status, 200, url);
      }
      const rows = await app.db.kysely.selectFrom('webhook_endpoints').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.description, '');
      assert.equal(rows[0]?.previous_secret_box, null, 'not rotated');
      // An API key is never asked (creating it was).
      const key = await app.keyFor('acme');
      assert.equal((await app.send('POST', '/webhooks', key, body)).status, 201);

      // Under "admins", webhooks:manage alone makes an administrator: where data is sent
      // is as sensitive as who may read it.
      const role = await app.send('POST', '/roles', key, {
        name: 'hook-keeper',
        permissions: ['webhooks:manage', 'events:read'],
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      const keeper = await app.member('acme', 'kim@acme.test', ['hook-keeper']);
      const reader = await app.member('acme', 'rob@acme.test', ['viewer']);
      await app.setPolicy('acme', 'admins');
      const covered = await app.send('GET', '/webhooks', keeper.token);
      assert.equal(covered.status, 403, JSON.stringify(covered.body));
      assert.equal(covered.body.code, 'mfa_enrollment_required');
      assert.equal((await app.send('GET', '/entities', reader.token)).status, 200);
    });
  });
}
