import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { serveSubscriptions, tenantKey } from '../helpers/subscription-server.ts';
import { testEngines } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';

const CHROMIUM = '/usr/bin/chromium';
// In CI the browser is installed (.ci/run): a missing one fails there, never skips.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;

/** A second origin (another port): the web app whose page subscribes cross-origin. */
async function servePage(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('browser subscriptions (Chromium)', { skip }, () => {
  let browser: Browser;
  let page: { server: Server; origin: string };
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await servePage();
  });
  after(async () => {
    await browser?.close();
    page?.server.close();
  });

  for (const engine of testEngines()) {
    it(`EventSource and WebSocket subscribe with tickets from another origin, once each (${engine})`, async (t) => {
      const server = await serveSubscriptions(
        t,
        engine,
        {},
        { impersonate: false, server: { cors_origins: [page.origin] } },
      );
      const key = (await tenantKey(server, 'viewer')).secret;
      const context = await browser.newContext();
      t.after(() => context.close());
      const tab = await context.newPage();
      await tab.goto(page.origin);

      const base = server.baseUrl;
      const opened = await tab.evaluate(
        async ([base, key]) => {
          // The key as a bearer token: a non-simple request, so a CORS preflight first.
          const ticket = async (base: string, key: string): Promise<string> => {
            const response = await fetch(`${base}/subscriptions/tickets`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}` },
            });
            if (response.status !== 201) throw new Error(`ticket: ${response.status}`);
            return ((await response.json()) as { ticket: string }).ticket;
          };
          const sseTicket = await ticket(base, key);
          const wsTicket = await ticket(base, key);
          const state = { sse: [] as string[], ws: [] as string[], sseTicket, wsTicket };
          (globalThis as unknown as { received: typeof state }).received = state;
          const source = new EventSource(`${base}/events/subscribe?ticket=${sseTicket}`);
          source.addEventListener('event', (message) => {
            state.sse.push(JSON.parse((message as MessageEvent).data).event_type);
          });
          const socket = new WebSocket(
            `${base.replace(/^http/, 'ws')}/events/stream?ticket=${wsTicket}`,
          );
          socket.addEventListener('message', (message) => {
            const data = JSON.parse(message.data);
            if (data.type === 'event') state.ws.push(data.event.event_type);
          });
          await Promise.all([
            new Promise((resolve, reject) => {
              source.onopen = resolve;
              source.onerror = () => reject(new Error('EventSource failed'));
            }),
            new Promise((resolve, reject) => {
              socket.onopen = resolve;
              socket.onerror = () => reject(new Error('WebSocket failed'));
            }),
          ]);
          return { sseTicket, wsTicket };
        },
        [base, key] as const,
      );
      await until(() => server.stats().live === 2, 'both browser subscriptions are live');

      const writer = (await tenantKey(server, 'operator')).secret;
      const appended = await fetch(`${base}/entities/order-1/events`, {
        method: 'POST',
        headers: { 'x-api-key': writer, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ event_type: 'Placed', payload: {} }] }),
      });
      assert.equal(appended.status, 201);
      await tab.waitForFunction(() => {
        const state = (globalThis as unknown as { received: { sse: string[]; ws: string[] } })
          .received;
        return state.sse.length > 0 && state.ws.length > 0;
      });
      const received = await tab.evaluate(
        () => (globalThis as unknown as { received: { sse: string[]; ws: string[] } }).received,
      );
      assert.deepEqual(received.sse, ['Placed']);
      assert.deepEqual(received.ws, ['Placed']);

      // A used ticket is refused: EventSource gives up on a 401, the upgrade fails.
      const reused = await tab.evaluate(
        async ([base, { sseTicket, wsTicket }]) => {
          const sse = await new Promise<number>((resolve) => {
            const source = new EventSource(`${base}/events/subscribe?ticket=${sseTicket}`);
            source.onerror = () => {
              resolve(source.readyState);
              source.close();
            };
          });
          const ws = await new Promise<number>((resolve) => {
            const socket = new WebSocket(
              `${base.replace(/^http/, 'ws')}/events/stream?ticket=${wsTicket}`,
            );
            socket.onclose = (event) => resolve(event.code);
          });
          return { sse, ws };
        },
        [base, opened] as const,
      );
      assert.equal(reused.sse, 2, 'EventSource CLOSED: the server refused it');
      assert.equal(reused.ws, 1006, 'the WebSocket never opened');
      assert.equal(server.stats().live, 2, 'the refused attempts opened nothing');
    });
  }
});
