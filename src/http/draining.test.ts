import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestApp } from '../../test/helpers/app.ts';

it('answers a request that arrives while closing with a 503 problem and Retry-After', async (t) => {
  const { app, close } = await buildTestApp();
  t.after(close);
  // Hold the close in its preClose phase (after draining began, before the listener
  // stops), the window in which a new connection can still be accepted.
  app.addHook('preClose', () => sleep(300));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const closing = app.close();
  await sleep(50);
  const response = await fetch(`${address}/liveness`, { headers: { 'x-request-id': 'late-1' } });
  await closing;
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal(response.headers.get('connection'), 'close');
  const body = (await response.json()) as { code: string; request_id: string };
  assert.equal(body.code, 'service_unavailable');
  assert.equal(body.request_id, 'late-1');
});
