import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('X-Request-ID', () => {
  let test: TestApp;
  before(async () => {
    test = await buildTestApp();
    test.app.get('/test/fail', async () => {
      throw new Error('boom');
    });
  });
  after(() => test.close());

  it('echoes a safe client value', async () => {
    const id = 'client-1.2:abc@host/x+y=z_';
    const response = await test.app.inject({ url: '/liveness', headers: { 'x-request-id': id } });
    assert.equal(response.headers['x-request-id'], id);
  });

  it('accepts 128 characters and replaces 129', async () => {
    const ok = 'a'.repeat(128);
    assert.equal(
      (await test.app.inject({ url: '/liveness', headers: { 'x-request-id': ok } })).headers[
        'x-request-id'
      ],
      ok,
    );
    const long = await test.app.inject({
      url: '/liveness',
      headers: { 'x-request-id': 'a'.repeat(129) },
    });
    assert.match(String(long.headers['x-request-id']), UUID);
  });

  for (const unsafe of ['has space', '<script>', 'line\tbreak', 'ünïcode', '"quoted"', '']) {
    it(`replaces the unsafe value ${JSON.stringify(unsafe)} with a generated id`, async () => {
      const response = await test.app.inject({
        url: '/liveness',
        headers: { 'x-request-id': unsafe },
      });
      assert.match(String(response.headers['x-request-id']), UUID);
    });
  }

  it('generates a fresh UUID per request when none is sent', async () => {
    const first = (await test.app.inject({ url: '/liveness' })).headers['x-request-id'];
    const second = (await test.app.inject({ url: '/liveness' })).headers['x-request-id'];
    assert.match(String(first), UUID);
    assert.match(String(second), UUID);
    assert.notEqual(first, second);
  });

  for (const [name, request] of [
    ['404', { url: '/no/such/route' }],
    ['405', { method: 'DELETE', url: '/health' }],
    ['500', { url: '/test/fail' }],
    ['400 bad URL', { url: '/health%zz' }],
  ] as const) {
    it(`is on ${name} responses and equals the problem's request_id`, async () => {
      const response = await test.app.inject({
        ...request,
        headers: { 'x-request-id': `req-${name.replace(/\W/g, '')}` },
      });
      assert.equal(response.headers['x-request-id'], `req-${name.replace(/\W/g, '')}`);
      assert.equal(response.json().request_id, response.headers['x-request-id']);
    });
  }
});
