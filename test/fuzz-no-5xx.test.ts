import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from './helpers/app.ts';
import { testEngines } from './helpers/test-database.ts';

/**
 * Issue 15 item 14: no input may produce a 5xx. Every operation /openapi.json lists is
 * sent deterministic hostile inputs (NUL bytes and lone surrogates in paths, queries
 * and bodies, numbers past 2^63, wrongly typed fields, JSON nested too deep), as a
 * tenant admin and without credentials, on every engine; any 5xx fails the test.
 */

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
  readonly body: readonly string[];
  /** A body that satisfies the required properties, so probes reach past the schema. */
  readonly plausible: Record<string, unknown>;
}

interface JsonSchema {
  readonly type?: string | string[];
  readonly format?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
}

/** A value of the schema's shape: enough for required fields, not a fuzz value. */
function plausibleValue(schema: JsonSchema | undefined): unknown {
  if (!schema) return 'x';
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return plausibleValue(schema.anyOf.find((branch) => branch.type !== 'null'));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer' || type === 'number') return schema.minimum ?? 1;
  if (type === 'boolean') return true;
  if (type === 'array') return [];
  if (type === 'object') return plausibleObject(schema);
  if (schema.format === 'email') return 'fuzz@example.com';
  return 'x'.repeat(Math.max(schema.minLength ?? 1, 12));
}

function plausibleObject(schema: JsonSchema): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const name of schema.required ?? [])
    object[name] = plausibleValue(schema.properties?.[name]);
  return object;
}

interface Probe {
  readonly method: string;
  readonly url: string;
  /** Raw JSON text, so lone surrogates and NUL escapes reach the server as sent. */
  readonly payload?: string;
  /** Headers a client controls and the server reads (credentials, resume positions). */
  readonly headers?: Record<string, string>;
}

const NUL = '%00';
const BAD_UTF8 = '%ED%A0%80'; // U+D800 encoded as UTF-8: not valid UTF-8
const HUGE = '18446744073709551616'; // 2^64
const NUMBERS = [HUGE, '9223372036854775808', '-1', '1.5', '1e999'];
const BODY_VALUES = [
  '"a\\u0000b"',
  '"\\ud800"',
  '"x\\udc00y"',
  HUGE,
  '-9223372036854775809',
  '["x"]',
  '{"\\u0000":1}',
];
const HOSTILE_HEADERS: Record<string, string>[] = [
  { 'last-event-id': HUGE },
  { 'last-event-id': '1e999' },
  { 'x-api-key': 'tsk_\u00ff\u0080' },
  { authorization: 'Bearer \u00ff.\u00ff.\u00ff' },
  { authorization: `Bearer ${'a'.repeat(8000)}` },
  { 'x-request-id': '\u00ff'.repeat(300) },
];
const DEEP = `${'['.repeat(5000)}${']'.repeat(5000)}`;

function operationsOf(spec: {
  paths: Record<string, Record<string, Record<string, unknown>>>;
}): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = (operation.parameters ?? []) as { in: string; name: string }[];
      const content = (operation.requestBody as { content?: Record<string, { schema?: object }> })
        ?.content;
      const schema = content?.['application/json']?.schema as JsonSchema | undefined;
      const properties = new Set<string>(Object.keys(schema?.properties ?? {}));
      for (const branch of schema?.anyOf ?? []) {
        for (const key of Object.keys(branch.properties ?? {})) properties.add(key);
      }
      operations.push({
        method: method.toUpperCase(),
        path,
        query: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        body: content ? [...properties] : [],
        plausible: schema?.anyOf?.[0]
          ? plausibleObject(schema.anyOf[0])
          : plausibleObject(schema ?? {}),
      });
    }
  }
  return operations;
}

function pathWith(path: string, value: string): string {
  return path.replaceAll(/\{[^}]+\}/g, value);
}

/** The probes of one operation: each hostile value in each place, one at a time. */
function probesOf(op: Operation): Probe[] {
  const probes: Probe[] = [];
  const base = pathWith(op.path, 'x');
  const hasBody = op.method !== 'GET' && op.method !== 'DELETE';
  const plain = hasBody ? '{"description":["x"]}' : undefined;
  probes.push({ method: op.method, url: base, payload: plain });
  for (const headers of HOSTILE_HEADERS) probes.push({ method: op.method, url: base, headers });
  if (op.path.includes('{')) {
    for (const bad of [NUL, BAD_UTF8, HUGE]) {
      probes.push({ method: op.method, url: pathWith(op.path, bad), payload: plain });
    }
  }
  for (const name of [...op.query, 'unknown']) {
    for (const bad of [`a${NUL}`, BAD_UTF8, ...NUMBERS]) {
      probes.push({ method: op.method, url: `${base}?${name}=${bad}`, payload: plain });
    }
  }
  if (hasBody || op.body.length > 0) {
    for (const name of [...op.body, 'description', 'email']) {
      for (const value of BODY_VALUES) {
        probes.push({ method: op.method, url: base, payload: `{"${name}":${value}}` });
      }
    }
    // The same values inside an otherwise acceptable body reach the service and the store.
    for (const name of op.body) {
      for (const value of BODY_VALUES.slice(0, 4)) {
        const body = JSON.stringify({ ...op.plausible, [name]: 0 });
        const payload = body.replace(`"${name}":0`, `"${name}":${value}`);
        probes.push({ method: op.method, url: base, payload });
      }
    }
    probes.push({ method: op.method, url: base, payload: DEEP });
    probes.push({ method: op.method, url: base, payload: `{"events":${DEEP}}` });
  }
  return probes;
}

/** Status only: streaming answers (SSE) never end, so the body is not awaited. */
async function statusOf(app: TestApp['app'], probe: Probe, apiKey: string | undefined) {
  const controller = new AbortController();
  const headers: Record<string, string> = {};
  if (probe.payload !== undefined) headers['content-type'] = 'application/json';
  if (apiKey) headers['x-api-key'] = apiKey;
  Object.assign(headers, probe.headers);
  const response = await app.inject({
    method: probe.method as 'GET',
    url: probe.url,
    headers,
    ...(probe.payload !== undefined ? { payload: probe.payload } : {}),
    payloadAsStream: true,
    signal: controller.signal,
  });
  const stream = response.stream();
  if (response.statusCode < 500) {
    controller.abort();
    stream.on('error', () => {});
    return { status: response.statusCode, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') };
}

for (const engine of testEngines()) {
  describe(`hostile input never answers 5xx (${engine})`, () => {
    let testApp: TestApp;
    let apiKey: string;
    let operations: Operation[];

    before(async () => {
      testApp = await buildTestApp({ rate_limits: { enabled: false } }, engine, {
        actAs: false,
      });
      const { apiKeyFor } = await import('./helpers/auth.ts');
      apiKey = await apiKeyFor(testApp.services, 'default');
      const spec = await testApp.app.inject({ url: '/openapi.json' });
      operations = operationsOf(spec.json());
    });
    after(() => testApp.close());

    for (const who of ['tenant admin', 'no credentials'] as const) {
      it(`as ${who}`, async () => {
        assert.ok(operations.length > 50, 'the OpenAPI document lists the routes');
        const failures: string[] = [];
        let sent = 0;
        for (const op of operations) {
          for (const probe of probesOf(op)) {
            sent++;
            const key = who === 'tenant admin' ? apiKey : undefined;
            const { status, body } = await statusOf(testApp.app, probe, key);
            if (status >= 500) {
              failures.push(
                `${status} ${probe.method} ${probe.url} ${probe.payload?.slice(0, 60) ?? ''} ${body.slice(0, 200)}`,
              );
            }
          }
        }
        assert.ok(sent > 1000, `${sent} probes sent`);
        assert.deepEqual(failures, []);
      });
    }
  });
}
