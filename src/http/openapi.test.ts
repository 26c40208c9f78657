import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TESSERA_VERSION } from '../platform/version.ts';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, { properties: Record<string, unknown> }> };
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
