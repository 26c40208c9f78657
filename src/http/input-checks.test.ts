import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

/** Issue 15 items 13, 14 and 18: what the door refuses, and what it lets through. */

const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const EVENT_ID = '00000000-0000-4000-8000-00000000d00d';

for (const engine of testEngines()) {
  describe(`input checks at the door (${engine})`, () => {
    let testApp: TestApp;
    const send = (method: string, url: string, payload?: string, headers = {}) =>
      testApp.app.inject({
        method: method as 'POST',
        url: `/api/v1${url}`,
        headers: { 'content-type': 'application/json', ...headers },
        ...(payload !== undefined ? { payload } : {}),
      });

    before(async () => {
      testApp = await buildTestApp({ server: { max_json_depth: 10 } }, engine);
    });
    after(() => testApp.close());

    it('refuses bodies nested deeper than server.max_json_depth on append, ingest and retries', async () => {
      const event = (payload: string) =>
        `{"id":"${EVENT_ID}","event_type":"A","payload":${payload}}`;
      // The body's own containers count: {events:[{payload: ...}]} is three levels.
      const fits = await send('POST', '/entities/deep/events', `{"events":[${event(deep(7))}]}`);
      assert.equal(fits.statusCode, 201);
      for (const [url, body] of [
        ['/entities/deep/events', `{"events":[${event(deep(8))}]}`],
        ['/entities/deep/events', `{"events":[${event(deep(50_000))}]}`],
        ['/events', `{"entity_id":"deep","event_type":"A","payload":${deep(20_000)}}`],
        // An idempotent retry of the stored event, made deeper, is refused the same way.
        ['/entities/deep/events', `{"events":[${event(deep(4387))}]}`],
      ] as const) {
        const response = await send('POST', url, body);
        assert.equal(response.statusCode, 400, body.slice(0, 80));
        assert.equal(response.json().code, 'json_too_deep');
        assert.equal(response.json().max_depth, 10);
      }
      const read = await send('GET', '/entities/deep/events');
      assert.equal(read.json().events.length, 1, 'nothing else was stored');
    });

    it('refuses NUL and lone surrogates in paths, queries, bodies and keys, also unauthenticated', async () => {
      const cases: [string, string, string | undefined][] = [
        ['GET', '/teams/a%00b', undefined],
        ['GET', '/users?q=a%00', undefined],
        ['GET', '/users?a%00=1', undefined],
        ['POST', '/teams', '{"name":"a\\u0000b"}'],
        ['POST', '/teams', '{"name":"x\\ud800"}'],
        ['POST', '/entities/e/events', '{"events":[{"event_type":"A","payload":{"k\\udc00":1}}]}'],
        ['POST', '/auth/login', '{"email":"a\\u0000@example.com","password":"secret-enough"}'],
      ];
      for (const [method, url, payload] of cases) {
        const response = await send(method, url, payload, { 'x-api-key': 'not-used' });
        assert.equal(response.statusCode, 400, `${method} ${url} ${payload}`);
        assert.equal(response.json().code, 'invalid_characters');
      }
      // The refusal names the offending string's place (found by a second walk).
      const nested = await send(
        'POST',
        '/entities/e/events',
        '{"events":[{"event_type":"A","payload":{"ok":"fine","list":[1,"x\\u0000"]}}]}',
      );
      assert.equal(nested.json().errors[0].path, '/events/0/payload/list/1');
      const paired = await send('POST', '/teams', '{"name":"rocket \\ud83d\\ude80"}');
      assert.equal(paired.statusCode, 201, 'a surrogate pair is an ordinary character');
    });

    it('refuses numbers past 2^53 and Infinity in cursors, limits and bodies', async () => {
      for (const url of [
        '/teams?limit=1e999',
        '/entities/x/events?from_version=18446744073709551616',
        '/events/query?after=9223372036854775808',
      ]) {
        const response = await send('GET', url);
        assert.equal(response.statusCode, 400, url);
        assert.equal(response.json().code, 'validation_failed');
      }
      const infinite = await send(
        'POST',
        '/entities/n/events',
        '{"events":[{"event_type":"A","payload":{"n":1e999}}]}',
      );
      assert.equal(infinite.statusCode, 400);
      assert.deepEqual(infinite.json().errors, [
        { path: '/events/0/payload/n', message: 'must be a finite number' },
      ]);
      const version = await send(
        'POST',
        '/entities/n/events',
        '{"events":[{"event_type":"A","payload":{}}],"expected_version":18446744073709551616}',
      );
      assert.equal(version.statusCode, 400);
      assert.equal(version.json().errors[0].path, '/expected_version');
    });

    it('answers 400, not 500, to a list where PATCH teams and roles take a string', async () => {
      const team = (await send('POST', '/teams', '{"name":"Ops"}')).json();
      const patchTeam = await send('PATCH', `/teams/${team.id}`, '{"description":["x"]}');
      assert.equal(patchTeam.statusCode, 400);
      assert.equal(patchTeam.json().code, 'validation_failed');
      const created = await send('POST', '/roles', '{"name":"reviewer","permissions":[]}');
      assert.equal(created.statusCode, 201, created.body);
      const patchRole = await send('PATCH', '/roles/reviewer', '{"description":["x"]}');
      assert.equal(patchRole.statusCode, 400);
      assert.equal(patchRole.json().code, 'validation_failed');
    });

    it('accepts an empty body with Content-Type: application/json where the route takes none', async () => {
      const team = (await send('POST', '/teams', '{"name":"Gone"}')).json();
      const deleted = await send('DELETE', `/teams/${team.id}`, '');
      assert.equal(deleted.statusCode, 204, deleted.body);
      const noBody = await send('POST', '/teams', '');
      assert.equal(noBody.statusCode, 400);
      assert.equal(
        noBody.json().code,
        'malformed_json',
        'a route that takes a body still needs one',
      );
    });
  });
}
