import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Type } from 'typebox';
import {
  buildTestApp,
  type CapturedLogs,
  captureLogs,
  type TestApp,
} from '../../test/helpers/app.ts';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';

const EventBatch = Type.Object(
  {
    events: Type.Array(
      Type.Object({
        event_type: Type.String({ pattern: '^[A-Za-z0-9._:-]+$' }),
        payload: Type.Optional(Type.Unknown()),
      }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

function assertProblem(
  response: {
    statusCode: number;
    headers: Record<string, unknown>;
    json(): Record<string, unknown>;
  },
  status: number,
  code: string,
) {
  assert.equal(response.statusCode, status);
  assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = response.json();
  assert.equal(body.type, `https://tessera.dev/problems/${code}`);
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.request_id, response.headers['x-request-id']);
  return body;
}

describe('problem+json for every failure', () => {
  let test: TestApp;
  let logs: CapturedLogs;
  before(async () => {
    logs = captureLogs();
    test = await buildTestApp({ server: { body_limit_bytes: 1024 } }, 'sqlite', {
      logger: logs.logger,
    });
    const { app } = test;
    app.post('/test/events', { schema: { body: EventBatch } }, async (request) => ({
      count: request.body.events.length,
    }));
    app.get(
      '/test/items/:item',
      {
        schema: {
          params: Type.Object({ item: Type.String({ maxLength: 5 }) }),
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })) }),
        },
      },
      async () => ({ ok: true }),
    );
    app.put('/test/items/:item', async () => ({ ok: true }));
    app.get('/test/crash', async () => {
      throw new Error('secret: SELECT password_hash FROM users at /srv/tessera/src/x.ts');
    });
    app.get('/test/conflict', async () => {
      throw new TesseraError(HttpErrors.service_unavailable, 'Try again shortly.', {
        headers: { 'retry-after': '7' },
        extensions: { status: 999, type: 'overridden?', retry_after_seconds: 7 },
      });
    });
    app.get('/test/http-error', async () => {
      throw Object.assign(new Error('Only JSON can be produced here.'), { statusCode: 406 });
    });
  });
  after(() => test.close());

  it('unknown route: 404 not_found naming method and path', async () => {
    const body = assertProblem(await test.app.inject({ url: '/nowhere?x=1' }), 404, 'not_found');
    assert.equal(body.detail, 'No route matches GET /nowhere.');
  });

  it('unknown route under /api/v1: 404 not_found', async () => {
    assertProblem(
      await test.app.inject({ method: 'POST', url: '/api/v1/nothing' }),
      404,
      'not_found',
    );
  });

  it('a bad body to a missing route is still 404, and to a wrong method still 405', async () => {
    const badJson = { headers: { 'content-type': 'application/json' }, payload: '{bad' };
    const missing = await test.app.inject({ method: 'POST', url: '/api/v1/nothing', ...badJson });
    assertProblem(missing, 404, 'not_found');
    const wrongMethod = await test.app.inject({ method: 'POST', url: '/health', ...badJson });
    assertProblem(wrongMethod, 405, 'method_not_allowed');
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD');
  });

  it('wrong method on an existing path: 405 with Allow', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/health' });
    const body = assertProblem(response, 405, 'method_not_allowed');
    assert.equal(response.headers.allow, 'GET, HEAD');
    assert.deepEqual(body.allowed_methods, ['GET', 'HEAD']);
  });

  it('405 lists every method of a parametric path', async () => {
    const response = await test.app.inject({ method: 'DELETE', url: '/test/items/abc' });
    assertProblem(response, 405, 'method_not_allowed');
    assert.equal(response.headers.allow, 'GET, HEAD, PUT');
  });

  it('malformed JSON: 400 malformed_json saying where it broke', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json', 'x-request-id': 'bad-json-1' },
      payload: '{"events": [ {"event_type": "a"}, ]}',
    });
    const body = assertProblem(response, 400, 'malformed_json');
    assert.equal(body.request_id, 'bad-json-1');
    assert.match(String(body.detail), /^The request body is not valid JSON: Unexpected token '\]'/);
  });

  it('empty JSON body: 400 malformed_json', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    assertProblem(response, 400, 'malformed_json');
  });

  it('prototype poisoning: 400 malformed_json, the handler never runs', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"events":[{"event_type":"a"}],"__proto__":{"admin":true}}',
    });
    const body = assertProblem(response, 400, 'malformed_json');
    assert.match(String(body.detail), /__proto__/);
  });

  it('body over server.body_limit_bytes: 413 body_too_large with the limit', async () => {
    const payload = JSON.stringify({ events: [{ event_type: 'a', payload: 'x'.repeat(2000) }] });
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    const body = assertProblem(response, 413, 'body_too_large');
    assert.equal(body.limit_bytes, 1024);
  });

  it('a small gzip body that inflates past the limit: 413 (the limit counts decompressed bytes)', async () => {
    const inflated = JSON.stringify({
      events: [{ event_type: 'a', payload: ' '.repeat(100_000) }],
    });
    const payload = gzipSync(inflated);
    assert.ok(payload.length < 1024);
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload,
    });
    assertProblem(response, 413, 'body_too_large');
  });

  it('gzip request bodies within the limit are accepted', async () => {
    const payload = gzipSync(
      JSON.stringify({ events: [{ event_type: 'a' }, { event_type: 'b' }] }),
    );
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { count: 2 });
  });

  it('unknown Content-Encoding: 415 unsupported_content_encoding', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      headers: { 'content-type': 'application/json', 'content-encoding': 'x-weird' },
      payload: '{}',
    });
    assertProblem(response, 415, 'unsupported_content_encoding');
  });

  for (const contentType of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/xml',
  ]) {
    it(`${contentType} body: 415 unsupported_media_type`, async () => {
      const response = await test.app.inject({
        method: 'POST',
        url: '/test/events',
        headers: { 'content-type': contentType },
        payload: 'events=1',
      });
      const body = assertProblem(response, 415, 'unsupported_media_type');
      assert.match(String(body.detail), /application\/json/);
    });
  }

  it('schema violations: 400 validation_failed with JSON Pointer paths', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      payload: { events: [{ event_type: 'bad type!' }] },
    });
    const body = assertProblem(response, 400, 'validation_failed');
    assert.deepEqual(body.errors, [
      { path: '/events/0/event_type', message: 'must match pattern "^[A-Za-z0-9._:-]+$"' },
    ]);
    assert.equal(body.detail, 'body/events/0/event_type must match pattern "^[A-Za-z0-9._:-]+$"');
  });

  it('a missing property is reported at its own path', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      payload: { events: [{}] },
    });
    const body = assertProblem(response, 400, 'validation_failed');
    assert.deepEqual(body.errors, [{ path: '/events/0/event_type', message: 'is required' }]);
  });

  it('an unknown property is rejected, not silently dropped', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/test/events',
      payload: { events: [{ event_type: 'a' }], expected_vesion: 3 },
    });
    const body = assertProblem(response, 400, 'validation_failed');
    assert.deepEqual(body.errors, [
      { path: '/expected_vesion', message: 'is not an allowed property' },
    ]);
  });

  it('querystring and params failures use /querystring and /params paths', async () => {
    const query = assertProblem(
      await test.app.inject({ url: '/test/items/abc?limit=0' }),
      400,
      'validation_failed',
    );
    assert.deepEqual(query.errors, [{ path: '/querystring/limit', message: 'must be >= 1' }]);
    assert.equal(query.detail, 'querystring/limit must be >= 1');
    const params = assertProblem(
      await test.app.inject({ url: '/test/items/toolong' }),
      400,
      'validation_failed',
    );
    assert.deepEqual(params.errors, [
      { path: '/params/item', message: 'must NOT have more than 5 characters' },
    ]);
  });

  it('a TesseraError keeps its status, code, headers and extensions; extensions cannot replace RFC 9457 members', async () => {
    const response = await test.app.inject({ url: '/test/conflict' });
    const body = assertProblem(response, 503, 'service_unavailable');
    assert.equal(response.headers['retry-after'], '7');
    assert.equal(body.retry_after_seconds, 7);
    assert.equal(body.detail, 'Try again shortly.');
    assert.equal(body.title, 'Service unavailable');
  });

  it('another 4xx from a plugin keeps a client-facing message', async () => {
    const body = assertProblem(
      await test.app.inject({ url: '/test/http-error' }),
      400,
      'bad_request',
    );
    assert.equal(body.detail, 'Only JSON can be produced here.');
  });

  it('a URL that is not valid percent-encoding: 400 bad_request', async () => {
    assertProblem(await test.app.inject({ url: '/test/items/%E0%A4%A' }), 400, 'bad_request');
  });

  it('an over-long path parameter: 414 uri_too_long', async () => {
    assertProblem(
      await test.app.inject({ url: `/test/items/${'a'.repeat(256 * 12 + 1)}` }),
      414,
      'uri_too_long',
    );
  });

  it('an unexpected error: 500 internal_error, nothing internal leaked, the stack logged', async () => {
    const response = await test.app.inject({
      url: '/test/crash',
      headers: { 'x-request-id': 'crash-1' },
    });
    const body = assertProblem(response, 500, 'internal_error');
    assert.doesNotMatch(response.body, /secret|password|SELECT|\/srv|\.ts|Error/);
    assert.deepEqual(Object.keys(body).sort(), [
      'code',
      'detail',
      'request_id',
      'status',
      'title',
      'type',
    ]);
    const logged = logs.lines.find((line) => line.request_id === 'crash-1' && line.level === 50);
    assert.ok(logged, 'an error line for the request');
    const err = logged.err as { message: string; stack: string };
    assert.match(err.message, /secret: SELECT/);
    assert.match(err.stack, /problem\.test\.ts/);
  });
});
