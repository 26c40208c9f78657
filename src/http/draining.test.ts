import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';

it('answers a request that arrives while closing with a 503 problem and Retry-After', async (t) => {
  const { app, close } = await buildTestApp();
  t.after(close);
  // Hold the close in its preClose phase (after draining began, before the listener
  // stops), the window in which a new connection can still be accepted, until the
  // late request has its answer: signals, not sleeps, so a loaded machine can't miss it.
  const held = Promise.withResolvers<void>();
  const inPreClose = Promise.withResolvers<void>();
  app.addHook('preClose', async () => {
    inPreClose.resolve();
    await held.promise;
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const closing = app.close();
  await inPreClose.promise;
  let response: Response;
  try {
    response = await fetch(`${address}/liveness`, { headers: { 'x-request-id': 'late-1' } });
  } finally {
    held.resolve();
  }
  await closing;
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal(response.headers.get('connection'), 'close');
  const body = (await response.json()) as { code: string; request_id: string };
  assert.equal(body.code, 'service_unavailable');
  assert.equal(body.request_id, 'late-1');
});
