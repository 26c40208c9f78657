import assert from 'node:assert/strict';
import type { ServiceOptions } from '../../src/composition-root.ts';
import type { Config } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './smtp-sink.ts';
import { until } from './until.ts';

/**
 * One app per suite for the flows an email's link completes (verification, password
 * reset): a real SMTP sink as its email transport, no default credentials, limits
 * high enough for a whole suite from one address, logins never slowed for real.
 * Tests share it, each with its own users.
 */
export interface EmailLinkApp {
  readonly test: TestApp;
  readonly sink: SmtpSink;
  /** JSON request to /api/v1; `as`: a Bearer token, or `{ key }` for an API key. */
  api(method: string, url: string, options?: { body?: object; as?: Credential }): Promise<Reply>;
  /** A user with `password`, member of each tenant (created when missing) as admin. */
  userIn(email: string, tenants: readonly string[], password?: string): Promise<string>;
  /** Logs in; asserts 200; the access and refresh tokens. */
  login(email: string, password?: string, tenantId?: string): Promise<Tokens>;
  /** The next message to `address` of `template`, after the `seen` ones already received. */
  nextMail(address: string, template: string, seen?: number): Promise<ReceivedMail>;
  /** GET of a page; its CSRF cookie and form token, when it has a form. */
  openPage(url: string): Promise<Page>;
  /** POSTs a page's form (urlencoded) with the cookie of the page it came from. */
  submit(url: string, fields: Record<string, string>, cookie?: string): Promise<Page>;
  /** An admin API key of the `system` tenant: reads the platform's trail. */
  platformKey(): Promise<string>;
  /** The audit entries of `tenant`'s trail with `action`, oldest first. */
  trail(tenant: string, action?: string): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export type Credential = string | { readonly key: string };

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

export interface Tokens {
  readonly access: string;
  readonly refresh: string;
}

export interface Page {
  readonly status: number;
  readonly html: string;
  readonly headers: Record<string, unknown>;
  /** The page's `tessera_csrf` cookie as a Cookie header, if it set one. */
  readonly cookie: string | undefined;
  /** The form's `_csrf` field, if it has one. */
  readonly csrf: string | undefined;
}

export interface AuditRecord {
  readonly action: string;
  readonly outcome: string;
  readonly actor: string | null;
  readonly actor_type: string;
  readonly target: string | null;
  readonly details: Record<string, unknown>;
}

export const PASSWORD = 'correct horse battery';

export async function emailLinkApp(
  engine: Engine,
  overrides: DeepPartial<Config> = {},
  /** More service options (a clock); logins are never slowed for real either way. */
  serviceOptions: ServiceOptions = {},
): Promise<EmailLinkApp> {
  const sink = await startSmtpSink();
  let test: TestApp;
  try {
    test = await buildTestApp(
      {
        ...overrides,
        email: { transport: 'smtp', smtp_url: sink.url, ...overrides.email },
        rate_limits: { ip_per_minute: 100_000, ip_burst: 100_000, ...overrides.rate_limits },
      },
      engine,
      { actAs: false, services: { sleep: async () => {}, ...serviceOptions } },
    );
  } catch (error) {
    await sink.close();
    throw error;
  }
  await test.app.ready();
  const keys = new Map<string, string>();
  const keyOf = async (tenant: string) => {
    let key = keys.get(tenant);
    if (key === undefined) {
      key = await apiKeyFor(test.services, tenant, tenant === 'system' ? 'admin' : 'auditor');
      keys.set(tenant, key);
    }
    return key;
  };

  const api: EmailLinkApp['api'] = async (method, url, options = {}) => {
    const headers: Record<string, string> = {};
    if (typeof options.as === 'string') headers.authorization = `Bearer ${options.as}`;
    else if (options.as) headers['x-api-key'] = options.as.key;
    const response = await test.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers,
      ...(options.body === undefined ? {} : { payload: options.body }),
    });
    const text = response.body;
    const json = text && response.headers['content-type']?.toString().includes('json');
    return {
      status: response.statusCode,
      body: json ? (JSON.parse(text) as Record<string, unknown>) : {},
      text,
    };
  };

  const asPage = (response: Awaited<ReturnType<typeof test.app.inject>>): Page => {
    const cookie = response.cookies.find((c) => c.name === 'tessera_csrf');
    return {
      status: response.statusCode,
      html: response.body,
      headers: response.headers,
      cookie: cookie ? `tessera_csrf=${cookie.value}` : undefined,
      csrf: /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1],
    };
  };

  return {
    test,
    sink,
    api,
    async userIn(email, tenants, password = PASSWORD) {
      const { services } = test;
      const user = await services.identity.users.createUser({
        email,
        password_hash: await hashPassword(password),
      });
      for (const tenant of tenants) {
        if (!(await services.tenancy.tenants.get(tenant))) {
          await services.tenancy.tenants.create({ id: tenant, name: tenant, plan: 'unlimited' });
        }
        await services.tenancy.memberships.grant(tenant, user.id, ['admin']);
      }
      return user.id;
    },
    async login(email, password = PASSWORD, tenantId) {
      const reply = await api('POST', '/auth/login', {
        body: { email, password, ...(tenantId === undefined ? {} : { tenant_id: tenantId }) },
      });
      assert.equal(reply.status, 200, reply.text);
      return { access: String(reply.body.access_token), refresh: String(reply.body.refresh_token) };
    },
    async nextMail(address, template, seen = 0) {
      const matching = () => sink.to(address).filter((mail) => mail.template === template);
      await until(() => matching().length > seen, `email ${seen + 1} (${template}) to ${address}`);
      return matching()[seen] as ReceivedMail;
    },
    async openPage(url) {
      return asPage(await test.app.inject({ method: 'GET', url }));
    },
    async submit(url, fields, cookie) {
      return asPage(
        await test.app.inject({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(cookie === undefined ? {} : { cookie }),
          },
          payload: new URLSearchParams(fields).toString(),
        }),
      );
    },
    platformKey: () => keyOf('system'),
    async trail(tenant, action) {
      const query = `/audit?order=asc&limit=1000${action ? `&action=${action}` : ''}`;
      const reply = await api('GET', query, { as: { key: await keyOf(tenant) } });
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.events as { payload: AuditRecord }[]).map((event) => event.payload);
    },
    async close() {
      try {
        await test.close();
      } finally {
        await sink.close();
      }
    },
  };
}
