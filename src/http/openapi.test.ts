import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TESSERA_VERSION } from '../platform/version.ts';
import { LICENSE } from './openapi.ts';

interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  description?: string;
  parameters?: Array<{ in: string; name: string; required: boolean; schema: object }>;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; license?: { name: string; url?: string } };
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties: Record<string, unknown> }>;
    securitySchemes?: Record<string, Record<string, string>>;
  };
}

const GUARDED = [{ bearerAuth: [] }, { apiKey: [] }];

function operations(spec: OpenApiDocument): Array<[string, string, Operation]> {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]): [string, string, Operation] => [
      method,
      path,
      operation,
    ]),
  );
}

describe('OpenAPI and the /docs explorer', () => {
  let test: TestApp;
  let spec: OpenApiDocument;
  before(async () => {
    test = await buildTestApp();
    const response = await test.app.inject({ url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    spec = response.json();
  });
  after(() => test.close());

  it('is OpenAPI 3.1 with the Tessera version', () => {
    assert.equal(spec.openapi, '3.1.0');
    assert.equal(spec.info.title, 'Tessera');
    assert.equal(spec.info.version, TESSERA_VERSION);
  });

  it('lists the platform routes with their response schemas', () => {
    for (const path of ['/health', '/readiness', '/liveness', '/metrics'])
      assert.ok(spec.paths[path]?.get, path);
    const health = spec.paths['/health']?.get?.responses;
    assert.ok(health?.['200']?.content?.['application/json']);
    assert.ok(health?.['503']?.content?.['application/json']);
    assert.ok(spec.paths['/metrics']?.get?.responses['200']?.content?.['text/plain']);
  });

  it('describes failures with a shared Problem component (RFC 9457)', () => {
    const problem = spec.components.schemas.Problem;
    assert.ok(problem);
    for (const member of ['type', 'title', 'status', 'detail', 'code', 'request_id', 'errors']) {
      assert.ok(member in problem.properties, member);
    }
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const range of ['4XX', '5XX']) {
          const schema = operation.responses[range]?.content?.['application/problem+json']?.schema;
          assert.deepEqual(
            schema,
            { $ref: '#/components/schemas/Problem' },
            `${method} ${path} ${range}`,
          );
        }
      }
    }
  });

  it('gives every operation a unique, URL-safe operationId derived from method and path', () => {
    const ids = operations(spec).map(([method, path, operation]) => {
      assert.match(String(operation.operationId), /^[a-z]+[A-Za-z0-9]*$/, `${method} ${path}`);
      return operation.operationId;
    });
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.ok(ids.length >= 78);
    assert.equal(
      spec.paths['/api/v1/entities/{entity_id}/events']?.get?.operationId,
      'getEntityEvents',
    );
    assert.equal(spec.paths['/api/v1/events/{id}']?.get?.operationId, 'getEvent');
  });

  it('declares the bearer token and the X-API-Key header as security schemes', () => {
    assert.deepEqual(spec.components.securitySchemes?.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: spec.components.securitySchemes?.bearerAuth?.description,
    });
    assert.equal(spec.components.securitySchemes?.apiKey?.type, 'apiKey');
    assert.equal(spec.components.securitySchemes?.apiKey?.in, 'header');
    assert.equal(spec.components.securitySchemes?.apiKey?.name, 'X-API-Key');
  });

  it('states the security of every operation from the access the route declares', () => {
    for (const [method, path, operation] of operations(spec)) {
      assert.ok(Array.isArray(operation.security), `${method} ${path} has security`);
    }
    assert.deepEqual(spec.paths['/api/v1/auth/login']?.post?.security, []);
    assert.deepEqual(spec.paths['/health']?.get?.security, []);
    assert.deepEqual(spec.paths['/metrics']?.get?.security, [{}, { metricsToken: [] }]);
    const read = spec.paths['/api/v1/entities/{entity_id}/events']?.get;
    assert.deepEqual(read?.security, GUARDED);
    assert.match(String(read?.description), /`events:read` permission/);
  });

  it('has a license and a server, as linters and generators expect', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.license, 'UNLICENSED');
    assert.deepEqual(spec.info.license, LICENSE);
    assert.match(LICENSE.name, /^UNLICENSED /);
    assert.deepEqual(
      spec.servers?.map((server) => server.url),
      ['/'],
    );
  });

  it('marks no query parameter with a default as required (the server fills it in)', () => {
    const read = spec.paths['/api/v1/entities/{entity_id}/events']?.get?.parameters ?? [];
    const required = Object.fromEntries(read.map((p) => [`${p.in} ${p.name}`, p.required]));
    assert.deepEqual(required, {
      'query from_version': false,
      'query direction': false,
      'query limit': false,
      'path entity_id': true,
    });
    for (const [method, path, operation] of operations(spec)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'path' && 'default' in parameter.schema)
          assert.equal(parameter.required, false, `${method} ${path} ${parameter.name}`);
      }
    }
  });

  it('gives the WebSocket route a documented handshake answer besides its problems', () => {
    const responses = spec.paths['/api/v1/events/stream']?.get?.responses ?? {};
    assert.deepEqual(Object.keys(responses).sort(), ['4XX', '5XX', 'default']);
    const subscribe = spec.paths['/api/v1/events/subscribe']?.get?.responses ?? {};
    assert.ok(subscribe['200']?.content?.['text/event-stream']);
  });

  it('keeps its own plumbing out of the document', () => {
    for (const path of Object.keys(spec.paths))
      assert.doesNotMatch(path, /^\/(docs|openapi\.json)/, path);
  });

  it('/docs serves the explorer page and every script and stylesheet it loads', async () => {
    for (const page of ['/docs', '/docs/']) {
      const response = await test.app.inject({ url: page });
      assert.equal(response.statusCode, 200, page);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      const html = response.body;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attributes, inline] of scripts) {
        assert.match(String(attributes), /\bsrc="/, 'no inline script (the CSP allows none)');
        assert.equal(String(inline).trim(), '');
      }
      assert.doesNotMatch(html, /\sstyle="|<style/, 'no inline style (the CSP allows none)');
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => String(match[1]));
      for (const asset of assets) {
        const url = new URL(asset, `http://tessera.test${page}`).pathname;
        const loaded = await test.app.inject({ url });
        assert.equal(loaded.statusCode, 200, url);
        if (url.endsWith('.js'))
          assert.match(String(loaded.headers['content-type']), /javascript/, url);
        if (url.endsWith('.css'))
          assert.match(String(loaded.headers['content-type']), /^text\/css/, url);
      }
    }
    const initializer = await test.app.inject({ url: '/docs/static/swagger-initializer.js' });
    assert.match(
      initializer.body,
      /resolveUrl\('\.\/json'\)/,
      'the UI loads the spec from /docs/json',
    );
    const json = await test.app.inject({ url: '/docs/json' });
    assert.equal(json.json().openapi, '3.1.0');
  });
});

describe('OpenAPI of routes added later', () => {
  it('derives operationId, security and optional parameters from the declaration alone', async (t) => {
    const test = await buildTestApp();
    t.after(() => test.close());
    test.app.post(
      '/test/widgets/:widget_id/parts',
      {
        config: { access: 'events:read' },
        schema: {
          params: Type.Object({ widget_id: Type.String() }),
          querystring: Type.Object({ limit: Type.Integer({ default: 5 }) }),
          body: Type.Object({ name: Type.String(), size: Type.Integer({ default: 1 }) }),
        },
      },
      async () => ({}),
    );
    test.app.get('/test/open', { config: { access: 'public' } }, async () => ({}));
    const spec: OpenApiDocument = (await test.app.inject({ url: '/openapi.json' })).json();
    const parts = spec.paths['/test/widgets/{widget_id}/parts']?.post as Operation & {
      requestBody: { content: Record<string, { schema: { required?: string[] } }> };
    };
    assert.equal(parts.operationId, 'postTestWidgetParts');
    assert.deepEqual(parts.security, GUARDED);
    assert.equal(parts.parameters?.find((p) => p.name === 'limit')?.required, false);
    assert.deepEqual(parts.requestBody.content['application/json']?.schema.required, ['name']);
    assert.deepEqual(spec.paths['/test/open']?.get?.security, []);
  });
});

describe('the security the document states is what the guard enforces', () => {
  it('every operation under /api/v1 refuses a request without credentials (401) exactly when it says it needs some', async (t) => {
    const test = await buildTestApp({ rate_limits: { enabled: false } }, 'sqlite', {
      actAs: false,
    });
    t.after(() => test.close());
    const spec: OpenApiDocument = (await test.app.inject({ url: '/openapi.json' })).json();
    let checked = 0;
    for (const [method, path, operation] of operations(spec)) {
      if (!path.startsWith('/api/v1/')) continue;
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const response = await test.app.inject({ method: method.toUpperCase() as 'GET', url });
      const needsCredentials = (operation.security ?? []).length > 0;
      assert.equal(
        response.statusCode === 401,
        needsCredentials,
        `${method} ${path}: ${response.statusCode}`,
      );
      checked++;
    }
    assert.ok(checked >= 70);
  });
});
