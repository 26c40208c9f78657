import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp, captureLogs } from '../../../../test/helpers/app.ts';
import { openSse } from '../../../../test/helpers/sse-client.ts';
import {
  type SubscriptionTestServer,
  serveSubscriptions,
  tenantKey,
} from '../../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import { openWs, refusedUpgrade } from '../../../../test/helpers/ws-client.ts';
import { hashPassword } from '../../../identity/login/passwords.ts';

const ALLOWED = 'http://app.example.test';
const PASSWORD = 'correct horse battery';

async function ticketFor(
  server: SubscriptionTestServer,
  key: string,
  headers: Record<string, string> = { 'x-api-key': key },
): Promise<string> {
  const response = await fetch(`${server.baseUrl}/subscriptions/tickets`, {
    method: 'POST',
    headers,
  });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = (await response.json()) as { ticket: string; expires_in: number };
  assert.match(body.ticket, /^tst_[A-Za-z0-9_-]{43}$/);
  assert.equal(body.expires_in, 30);
  return body.ticket;
}

async function problem(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

for (const engine of testEngines()) {
  describe(`subscription tickets, on ${engine}`, () => {
    it('let a client without headers subscribe once over SSE and WebSocket, bound to its tenant', async (t) => {
      const server = await serveSubscriptions(t, engine, {}, { impersonate: false });
      const key = (await tenantKey(server, 'viewer')).secret;
      const sseUrl = `${server.baseUrl}/events/subscribe?from_position=0`;
      const wsUrl = `${server.baseUrl.replace(/^http/, 'ws')}/events/stream?from_position=0`;
      await server.append('order-1', 'Placed');

      const sseTicket = await ticketFor(server, key);
      const sse = await openSse(`${sseUrl}&ticket=${sseTicket}`);
      t.after(() => sse.close());
      assert.equal(sse.status, 200);
      assert.deepEqual(
        (await sse.events(1)).map((e) => [e.tenant_id, e.event_type]),
        [[server.tenantId, 'Placed']],
      );
      const reused = await problem(`${sseUrl}&ticket=${sseTicket}`);
      assert.equal(reused.status, 401);
      assert.equal(reused.body.code, 'subscription_ticket_invalid');

      const wsTicket = await ticketFor(server, key);
      const ws = await openWs(`${wsUrl}&ticket=${wsTicket}`);
      t.after(() => ws.close());
      assert.deepEqual(
        (await ws.events(1)).map((e) => e.event_type),
        ['Placed'],
      );
      const again = await refusedUpgrade(`${wsUrl}&ticket=${wsTicket}`);
      assert.equal(again.status, 401);
      assert.equal(again.body.code, 'subscription_ticket_invalid');

      // A ticket of one route works on the other too, but never on any other route.
      const other = await ticketFor(server, key);
      const query = await problem(`${server.baseUrl}/events/query?ticket=${other}`);
      assert.equal(query.status, 401);
      assert.equal(query.body.code, 'unauthorized');
      for (const forged of ['tst_forged', 'not-a-ticket']) {
        const refused = await problem(`${sseUrl}&ticket=${forged}`);
        assert.equal(refused.status, 401, forged);
        assert.equal(refused.body.code, 'subscription_ticket_invalid');
      }
    });

    it('refuses a ticket whose credential was revoked after it was issued', async (t) => {
      const server = await serveSubscriptions(t, engine, {}, { impersonate: false });
      const admin = await tenantKey(server, 'admin');
      const viewer = await tenantKey(server, 'viewer');
      const ticket = await ticketFor(server, viewer.secret);
      const revoked = await fetch(`${server.baseUrl}/auth/api-keys/${viewer.id}`, {
        method: 'DELETE',
        headers: { 'x-api-key': admin.secret },
      });
      assert.equal(revoked.status, 204);
      const refused = await problem(`${server.baseUrl}/events/subscribe?ticket=${ticket}`);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'api_key_revoked');
      assert.equal(server.stats().live + server.stats().catching_up, 0);
    });

    it('stands for a login session: works while it lasts, refused once it is logged out', async (t) => {
      const server = await serveSubscriptions(t, engine, {}, { impersonate: false });
      const user = await server.services.identity.users.createUser({
        email: 'ann@example.test',
        password_hash: await hashPassword(PASSWORD),
      });
      await server.services.tenancy.memberships.grant(server.tenantId, user.id, ['viewer']);
      const login = await fetch(`${server.baseUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ann@example.test', password: PASSWORD }),
      });
      assert.equal(login.status, 200);
      const { access_token } = (await login.json()) as { access_token: string };
      const bearer = { authorization: `Bearer ${access_token}` };
      const sse = await openSse(
        `${server.baseUrl}/events/subscribe?ticket=${await ticketFor(server, '', bearer)}`,
      );
      t.after(() => sse.close());
      assert.equal(sse.status, 200);

      const later = await ticketFor(server, '', bearer);
      const out = await fetch(`${server.baseUrl}/auth/logout`, { method: 'POST', headers: bearer });
      assert.equal(out.status, 204);
      const refused = await problem(`${server.baseUrl}/events/subscribe?ticket=${later}`);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'session_revoked');
    });

    it('refuses a ticket-authenticated subscription from an origin not configured (cross-site WebSocket hijacking)', async (t) => {
      const server = await serveSubscriptions(
        t,
        engine,
        {},
        { impersonate: false, server: { cors_origins: [ALLOWED] } },
      );
      const key = (await tenantKey(server, 'viewer')).secret;
      const wsUrl = `${server.baseUrl.replace(/^http/, 'ws')}/events/stream`;
      const evil = await refusedUpgrade(`${wsUrl}?ticket=${await ticketFor(server, key)}`, {
        origin: 'https://evil.example',
      });
      assert.equal(evil.status, 403);
      assert.equal(evil.body.code, 'origin_not_allowed');
      const sse = await problem(
        `${server.baseUrl}/events/subscribe?ticket=${await ticketFor(server, key)}`,
        { origin: 'https://evil.example' },
      );
      assert.equal(sse.status, 403);
      assert.equal(sse.body.code, 'origin_not_allowed');
      const allowed = await openWs(`${wsUrl}?ticket=${await ticketFor(server, key)}`, {
        origin: ALLOWED,
      });
      t.after(() => allowed.close());
      const own = await openWs(`${wsUrl}?ticket=${await ticketFor(server, key)}`, {
        origin: new URL(server.baseUrl).origin,
      });
      t.after(() => own.close());
    });
  });
}

describe('subscription tickets in logs', () => {
  it('never writes a ticket from the URL to the request log', async () => {
    const logs = captureLogs();
    const test = await buildTestApp({}, 'sqlite', { logger: logs.logger });
    try {
      const secret = 'tst_never-logged-secret';
      // A refused request, so inject returns (an accepted one would stream forever).
      await test.app.inject({
        url: `/api/v1/events/subscribe?from_position=0&ticket=${secret}`,
        headers: { authorization: 'Bearer not-a-token' },
      });
      const text = JSON.stringify(logs.lines);
      assert.ok(text.includes('ticket=[redacted]'), 'the request was logged, its ticket redacted');
      assert.ok(!text.includes(secret));
    } finally {
      await test.close();
    }
  });
});
