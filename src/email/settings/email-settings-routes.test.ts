import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { type SmtpSink, startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AnyKysely, Engine } from '../../storage/database.ts';
import { DEFAULT_BRANDING } from '../templates/branding.ts';
import { DEFAULT_TEMPLATES } from '../templates/default-templates.ts';
import { EMAIL_KINDS } from '../templates/kinds.ts';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

const BRANDING = {
  product_name: 'Acme Cloud',
  logo_url: 'https://acme.example/logo.png',
  color: '#FF8800',
  support_email: 'help@acme.example',
};

const TEMPLATE = {
  subject: '{{ product_name }}: password changed for {{ name }}',
  text: 'Dear {{ name }}, changed at {{ changed_at }}.',
  html: '<p style="color:{{ color }}">Dear {{ name }}</p><img src="{{ logo_url }}">',
};

interface Fixture {
  readonly test: TestApp;
  readonly sink: SmtpSink;
  /** Keys by who holds them. */
  readonly keys: Record<'admin' | 'viewer' | 'reader' | 'otherAdmin' | 'auditor', string>;
  send(method: Method, url: string, key: string | null, payload?: object): Promise<Reply>;
}

async function setUp(engine: Engine): Promise<Fixture> {
  const sink = await startSmtpSink();
  const test = await buildTestApp(
    { email: { transport: 'smtp', smtp_url: sink.url, poll_interval_ms: 20 } },
    engine,
    { actAs: false },
  );
  const send: Fixture['send'] = async (method, url, key, payload) => {
    const reply = await test.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: key ? { 'x-api-key': key } : {},
      ...(payload ? { payload } : {}),
    });
    return { status: reply.statusCode, body: reply.body ? reply.json() : {} };
  };
  const admin = await apiKeyFor(test.services, 'acme', 'admin');
  // A custom role that may read the tenant's settings but not change them.
  const role = await send('POST', '/roles', admin, {
    name: 'settings-reader',
    permissions: ['tenant:read'],
  });
  assert.equal(role.status, 201, JSON.stringify(role.body));
  const keys = {
    admin,
    viewer: await apiKeyFor(test.services, 'acme', 'viewer'),
    reader: await apiKeyFor(test.services, 'acme', 'settings-reader'),
    auditor: await apiKeyFor(test.services, 'acme', 'auditor'),
    otherAdmin: await apiKeyFor(test.services, 'other', 'admin'),
  };
  return { test, sink, keys, send };
}

function assertProblem(reply: Reply, status: number, code: string, what = ''): void {
  assert.equal(reply.status, status, `${what} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.code, code, what);
}

for (const engine of testEngines()) {
  describe(`email branding and template routes (${engine})`, () => {
    let f: Fixture;
    before(async () => {
      f = await setUp(engine);
    });
    after(async () => {
      await f.test.close();
      await f.sink.close();
    });

    /** The acme trail's audit payloads with this action. */
    async function audited(action: string) {
      const reply = await f.send('GET', `/audit?action=${action}&order=asc`, f.keys.auditor);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return (reply.body.events as { payload: Record<string, unknown> }[]).map((e) => e.payload);
    }

    /** Queues `password_changed` for acme through the mailer, as a flow would; returns what arrives. */
    async function deliver(to: string, name: string) {
      const { mailer } = f.test.services.email;
      await f.test.db.transaction((trx: AnyKysely) =>
        mailer.queueIn(trx, {
          kind: 'password_changed',
          to,
          tenantId: 'acme',
          values: { name, changed_at: '2026-02-03T04:05:06Z', ip: '' },
        }),
      );
      mailer.flush();
      return f.sink.waitFor(to, 'password_changed');
    }

    it('refuses callers without the permission, and every caller without credentials', async () => {
      const { admin, viewer, reader } = f.keys;
      const routes: [Method, string, object?][] = [
        ['GET', '/email/branding'],
        ['PUT', '/email/branding', BRANDING],
        ['GET', '/email/templates'],
        ['GET', '/email/templates/verify_email'],
        ['PUT', '/email/templates/password_changed', TEMPLATE],
        ['DELETE', '/email/templates/password_changed'],
        ['POST', '/email/templates/password_changed/preview', TEMPLATE],
      ];
      for (const [method, url, body] of routes) {
        const what = `${method} ${url}`;
        assertProblem(await f.send(method, url, null, body), 401, 'unauthorized', what);
        // A viewer holds neither tenant:read nor tenant:manage.
        const refused = await f.send(method, url, viewer, body);
        assertProblem(refused, 403, 'permission_denied', what);
        const needs = method === 'GET' ? 'tenant:read' : 'tenant:manage';
        assert.equal(refused.body.permission, needs, what);
        if (method !== 'GET') {
          const read = await f.send(method, url, reader, body);
          assertProblem(read, 403, 'permission_denied', `${what} as a reader`);
        } else {
          assert.equal((await f.send(method, url, reader)).status, 200, what);
        }
      }
      // Nothing the refused callers sent was saved.
      assert.deepEqual((await f.send('GET', '/email/branding', admin)).body, DEFAULT_BRANDING);
      assert.equal(
        (await f.send('GET', '/email/templates/password_changed', admin)).body.custom,
        false,
      );
      assert.deepEqual(await audited('email.branding_updated'), []);
    });

    it('lists every kind with its default template and the variables it may use', async () => {
      const reply = await f.send('GET', '/email/templates', f.keys.reader);
      assert.equal(reply.status, 200);
      const templates = reply.body.templates as Record<string, unknown>[];
      assert.deepEqual(
        templates.map((template) => template.kind),
        [...EMAIL_KINDS],
      );
      const invitation = templates.find((template) => template.kind === 'invitation');
      const { variables, ...parts } = invitation ?? {};
      assert.deepEqual(parts, {
        kind: 'invitation',
        ...DEFAULT_TEMPLATES.invitation,
        custom: false,
        updated_at: null,
      });
      assert.ok((variables as string[]).includes('inviter'));
      assert.ok((variables as string[]).includes('product_name'));
      assertProblem(
        await f.send('GET', '/email/templates/welcome', f.keys.reader),
        404,
        'template_not_found',
      );
    });

    it('refuses templates that do not render, or read files, and saves nothing', async () => {
      const { admin } = f.keys;
      const url = '/email/templates/magic_link';
      const valid = { subject: 'Sign in', text: '{{ link }}', html: '<a href="{{ link }}">in</a>' };
      const cases: [string, object, string][] = [
        ['a syntax error', { ...valid, subject: 'Hi {% if name %}' }, '/subject'],
        ['an unknown variable', { ...valid, html: '<p>{{ password }}</p>' }, '/html'],
        ['an unknown filter', { ...valid, text: '{{ name | shell }}' }, '/text'],
        ['an include of a server file', { ...valid, text: "{% include '/etc/passwd' %}" }, '/text'],
        ['a render of a server file', { ...valid, html: "{% render 'package.json' %}" }, '/html'],
        ['a layout of a server file', { ...valid, text: "{% layout 'src/app.ts' %}x" }, '/text'],
        // Under the schema's character limit, over 100 KB of UTF-8.
        ['a body over 100 KB', { ...valid, html: 'é'.repeat(60_000) }, '/html'],
      ];
      for (const [what, body, path] of cases) {
        const reply = await f.send('PUT', url, admin, body);
        assertProblem(reply, 400, 'invalid_template', what);
        const errors = reply.body.errors as { path: string; message: string }[];
        assert.deepEqual(
          errors.map((error) => error.path),
          [path],
          what,
        );
        assert.doesNotMatch(JSON.stringify(reply.body), /root:|"name": "tessera"/, what);
        const preview = await f.send('POST', `${url}/preview`, admin, body);
        assertProblem(preview, 400, 'invalid_template', `preview: ${what}`);
      }
      // What the schema refuses: a missing part, a subject over 500 characters.
      assertProblem(
        await f.send('PUT', url, admin, { subject: 'x', text: 'x' }),
        400,
        'validation_failed',
      );
      assertProblem(
        await f.send('PUT', url, admin, { ...valid, subject: 's'.repeat(501) }),
        400,
        'validation_failed',
      );
      assertProblem(
        await f.send('PUT', '/email/templates/welcome', admin, TEMPLATE),
        404,
        'template_not_found',
      );
      assert.equal((await f.send('GET', url, admin)).body.custom, false);
      assert.deepEqual(await audited('email.template_updated'), []);
    });

    it('refuses branding it cannot use, and changes nothing', async () => {
      const { admin } = f.keys;
      const cases: [object, string][] = [
        [{ color: 'orange' }, '/color'],
        [{ color: '#ff880' }, '/color'],
        [{ logo_url: 'http://acme.example/logo.png' }, '/logo_url'],
        [{ logo_url: 'javascript:alert(1)' }, '/logo_url'],
        [{ logo_url: 'https://user:pw@acme.example/logo.png' }, '/logo_url'],
        [{ product_name: '' }, '/product_name'],
        [{ product_name: 'Acme\nBcc: x@evil.example' }, '/product_name'],
        [{ product_name: 'p'.repeat(101) }, '/product_name'],
        [{ support_email: 'not an address' }, '/support_email'],
      ];
      for (const [change, path] of cases) {
        const reply = await f.send('PUT', '/email/branding', admin, { ...BRANDING, ...change });
        assertProblem(reply, 400, 'validation_failed', JSON.stringify(change));
        const errors = reply.body.errors as { path: string }[];
        assert.ok(
          errors.some((error) => error.path === path),
          `${JSON.stringify(change)}: ${JSON.stringify(errors)}`,
        );
      }
      assertProblem(
        await f.send('PUT', '/email/branding', admin, { product_name: 'Only this' }),
        400,
        'validation_failed',
      );
      assert.deepEqual((await f.send('GET', '/email/branding', admin)).body, DEFAULT_BRANDING);
    });

    it('previews parts with sample values and the tenant’s branding, saving nothing', async () => {
      const reply = await f.send('POST', '/email/templates/invitation/preview', f.keys.admin, {
        subject: 'Join {{ tenant_name }}',
        text: '{{ inviter }} invites you: {{ link }}',
        html: '<a href="{{ link }}">{{ roles }}</a>',
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.subject, 'Join Acme');
      assert.match(String(reply.body.text), /^ada@example\.com invites you: https:\/\//);
      assert.match(String(reply.body.html), /^<a href="https:\/\/[^"]+">viewer<\/a>$/);
      assert.equal(
        (await f.send('GET', '/email/templates/invitation', f.keys.admin)).body.custom,
        false,
      );
    });

    it('sends with the saved branding and template, escaping variables in HTML only', async () => {
      const { admin, otherAdmin } = f.keys;
      const branded = await f.send('PUT', '/email/branding', admin, BRANDING);
      assert.equal(branded.status, 200, JSON.stringify(branded.body));
      assert.deepEqual(branded.body, { ...BRANDING, color: '#ff8800' });
      const saved = await f.send('PUT', '/email/templates/password_changed', admin, TEMPLATE);
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.equal(saved.body.custom, true);
      assert.equal(saved.body.subject, TEMPLATE.subject);
      assert.equal(typeof saved.body.updated_at, 'string');
      assert.deepEqual((await f.send('GET', '/email/branding', f.keys.reader)).body, branded.body);

      const mail = await deliver('ada@example.com', 'Ada <b>"&');
      assert.equal(mail.subject, 'Acme Cloud: password changed for Ada <b>"&');
      assert.equal(mail.text.trim(), 'Dear Ada <b>"&, changed at 2026-02-03T04:05:06Z.');
      assert.equal(
        mail.html,
        '<p style="color:#ff8800">Dear Ada &lt;b&gt;&#34;&amp;</p><img src="https://acme.example/logo.png">',
      );

      // Another tenant sees none of it, and cannot change or reset acme's.
      assert.deepEqual((await f.send('GET', '/email/branding', otherAdmin)).body, DEFAULT_BRANDING);
      const theirs = await f.send('GET', '/email/templates/password_changed', otherAdmin);
      assert.deepEqual(
        [theirs.body.custom, theirs.body.subject],
        [false, DEFAULT_TEMPLATES.password_changed.subject],
      );
      assertProblem(
        await f.send('DELETE', '/email/templates/password_changed', otherAdmin),
        404,
        'template_not_found',
      );
      const mine = await f.send('GET', '/email/templates/password_changed', admin);
      assert.equal(mine.body.custom, true);

      const trail = await audited('email.branding_updated');
      assert.equal(trail.length, 1);
      assert.equal(trail[0]?.target, 'tenant:acme');
      assert.deepEqual(trail[0]?.details, { ...BRANDING, color: '#ff8800' });
      const updated = await audited('email.template_updated');
      assert.deepEqual(
        updated.map((entry) => [entry.target, entry.details]),
        [['email_template:password_changed', { kind: 'password_changed' }]],
      );
    });

    it('returns to the default on DELETE, and says 404 when there is none of its own', async () => {
      const { admin } = f.keys;
      const url = '/email/templates/password_changed';
      if (!(await f.send('GET', url, admin)).body.custom) {
        assert.equal((await f.send('PUT', url, admin, TEMPLATE)).status, 200);
      }
      const removed = await f.send('DELETE', url, admin);
      assert.equal(removed.status, 204, JSON.stringify(removed.body));
      const now = await f.send('GET', url, admin);
      assert.deepEqual(
        [now.body.custom, now.body.subject, now.body.updated_at],
        [false, DEFAULT_TEMPLATES.password_changed.subject, null],
      );
      const mail = await deliver('bob@example.com', 'Bob');
      assert.match(mail.subject, /^Your .+ password was changed$/);
      assert.match(mail.text, /The password of bob@example\.com was changed/);

      assertProblem(await f.send('DELETE', url, admin), 404, 'template_not_found');
      assertProblem(
        await f.send('DELETE', '/email/templates/welcome', admin),
        404,
        'template_not_found',
      );
      const resets = await audited('email.template_reset');
      assert.deepEqual(
        resets.map((entry) => entry.target),
        ['email_template:password_changed'],
      );
    });
  });
}
