import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../test/helpers/app.ts';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;

/** A strict reader of the Prometheus text format 0.0.4: any line it does not understand fails the test. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      assert.match(meta[2] as string, new RegExp(`^${NAME}$`), line);
      if (meta[1] === 'TYPE') {
        assert.match(meta[3] as string, /^(counter|gauge|histogram|summary|untyped)$/, line);
        assert.ok(!types.has(meta[2] as string), `one TYPE line for ${meta[2]}`);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match, `a valid sample line: ${line}`);
    samples.push({
      name: match[1] as string,
      labels: parseLabels(match[2] ?? '', line),
      value: parseValue(match[3] as string, line),
    });
  }
  return { types, samples };
}

/** Values are Go floats (Prometheus reads them with strconv.ParseFloat): NaN and Inf in any case. */
function parseValue(text: string, line: string): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  assert.match(text, /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, `a numeric value: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = LABEL.exec(rest);
    assert.ok(match, `valid labels in: ${line}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\(["\\n])/g, (_, c: string) =>
      c === 'n' ? '\n' : c,
    );
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function find(
  exposition: Exposition,
  name: string,
  labels: Record<string, string>,
): Sample | undefined {
  return exposition.samples.find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

describe('GET /metrics', () => {
  let test: TestApp;
  before(async () => {
    test = await buildTestApp();
    test.app.get('/test/streams/:stream', async () => ({ ok: true }));
  });
  after(() => test.close());

  async function scrape(): Promise<Exposition> {
    const response = await test.app.inject({ url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parseExposition(response.body);
  }

  it('serves process metrics and per-route HTTP metrics labelled by pattern, never by raw URL', async () => {
    await test.app.inject({ url: '/test/streams/order-1234' });
    await test.app.inject({ url: '/test/streams/order-5678' });
    await test.app.inject({ url: '/health' });
    await test.app.inject({ url: '/no/such/thing/42' });
    await test.app.inject({ method: 'DELETE', url: '/health' });
    const exposition = await scrape();

    assert.equal(exposition.types.get('http_requests_total'), 'counter');
    assert.equal(exposition.types.get('http_request_duration_seconds'), 'histogram');
    assert.equal(exposition.types.get('process_cpu_user_seconds_total'), 'counter');
    assert.ok(exposition.types.has('nodejs_eventloop_lag_seconds'));

    const streams = find(exposition, 'http_requests_total', {
      method: 'GET',
      route: '/test/streams/:stream',
      status: '200',
    });
    assert.equal(streams?.value, 2);
    assert.equal(
      find(exposition, 'http_requests_total', { route: '/health', status: '200' })?.value,
      1,
    );
    assert.equal(
      find(exposition, 'http_requests_total', {
        method: 'GET',
        route: '<unmatched>',
        status: '404',
      })?.value,
      1,
    );
    assert.equal(
      find(exposition, 'http_requests_total', {
        method: 'DELETE',
        route: '<unmatched>',
        status: '405',
      })?.value,
      1,
    );
    const buckets = exposition.samples.filter(
      (s) =>
        s.name === 'http_request_duration_seconds_bucket' &&
        s.labels.route === '/test/streams/:stream',
    );
    assert.ok(buckets.some((b) => b.labels.le === '+Inf' && b.value === 2));

    const routes = new Set(exposition.samples.map((sample) => sample.labels.route).filter(Boolean));
    for (const route of routes)
      assert.doesNotMatch(String(route), /order-|\/42/, 'no raw URL as a label');
  });

  it('counts scrapes of /metrics too (one series)', async () => {
    await scrape();
    const exposition = await scrape();
    const scrapes = find(exposition, 'http_requests_total', { route: '/metrics', status: '200' });
    assert.ok(scrapes && scrapes.value >= 2);
  });

  it('keeps each app its own HTTP counters while the process metrics are shared', async () => {
    const other = await buildTestApp();
    try {
      await other.app.inject({ url: '/liveness' });
      const exposition = parseExposition((await other.app.inject({ url: '/metrics' })).body);
      assert.equal(find(exposition, 'http_requests_total', { route: '/liveness' })?.value, 1);
      assert.equal(
        find(exposition, 'http_requests_total', { route: '/test/streams/:stream' }),
        undefined,
      );
      assert.ok(exposition.types.has('process_resident_memory_bytes'));
    } finally {
      await other.close();
    }
  });
});

describe('GET /metrics configuration', () => {
  it('metrics.enabled = false: the route does not exist', async () => {
    const test = await buildTestApp({ metrics: { enabled: false } });
    try {
      const response = await test.app.inject({ url: '/metrics' });
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().code, 'not_found');
    } finally {
      await test.close();
    }
  });

  it('metrics.bearer_token: required, compared exactly, 401 problem otherwise', async () => {
    const token = 's3cret-metrics-token';
    const test = await buildTestApp({ metrics: { bearer_token: token } });
    try {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        `Bearer ${token}x`,
        `Basic ${token}`,
        `Bearer ${token.slice(0, -1)}`,
      ]) {
        const response = await test.app.inject({
          url: '/metrics',
          headers: authorization ? { authorization } : {},
        });
        assert.equal(response.statusCode, 401, String(authorization));
        assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.equal(response.json().code, 'unauthorized');
        assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera-metrics"');
        assert.doesNotMatch(response.body, new RegExp(token));
      }
      const ok = await test.app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(ok.statusCode, 200);
      parseExposition(ok.body);
      const lowercase = await test.app.inject({
        url: '/metrics',
        headers: { authorization: `bearer ${token}` },
      });
      assert.equal(lowercase.statusCode, 200, 'the scheme is case-insensitive (RFC 9110 §11.1)');
    } finally {
      await test.close();
    }
  });
});
