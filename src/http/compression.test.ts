import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';

const BIG = { items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item number ${i}` })) };

describe('response compression', () => {
  let test: TestApp;
  before(async () => {
    test = await buildTestApp();
    test.app.get('/test/big', async () => BIG);
  });
  after(() => test.close());

  it('prefers br when both are accepted, and the body decodes', async () => {
    const response = await test.app.inject({
      url: '/test/big',
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    assert.equal(response.headers['content-encoding'], 'br');
    assert.match(String(response.headers.vary), /accept-encoding/i);
    assert.deepEqual(JSON.parse(brotliDecompressSync(response.rawPayload).toString('utf8')), BIG);
  });

  it('uses gzip when only gzip is accepted', async () => {
    const response = await test.app.inject({
      url: '/test/big',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(response.rawPayload).toString('utf8')), BIG);
  });

  it('sends identity when nothing is accepted', async () => {
    const response = await test.app.inject({
      url: '/test/big',
      headers: { 'accept-encoding': 'identity' },
    });
    assert.equal(response.headers['content-encoding'], undefined);
    assert.deepEqual(response.json(), BIG);
  });

  it('leaves bodies under 1 KiB alone', async () => {
    const response = await test.app.inject({
      url: '/liveness',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    assert.equal(response.headers['content-encoding'], undefined);
    assert.deepEqual(response.json(), { status: 'alive' });
  });

  it('compresses the Prometheus text as well', async () => {
    const response = await test.app.inject({
      url: '/metrics',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.match(
      gunzipSync(response.rawPayload).toString('utf8'),
      /# TYPE http_requests_total counter/,
    );
  });
});
