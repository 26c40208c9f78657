import type { Config } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp } from './app.ts';
import { apiKeyFor } from './auth.ts';
import { type SmtpSink, startSmtpSink, tokenFrom } from './smtp-sink.ts';
import { until } from './until.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface AuditPayload {
  readonly action: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly actor_type: string;
  readonly details: Record<string, unknown>;
}

/** One app with a real SMTP sink, shared by a suite's tests (each uses its own users and tenants). */
export interface MagicLinkTestApp extends TestApp {
  readonly sink: SmtpSink;
  /** A request under /api/v1, with a Bearer token when given. */
  send(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: object,
    token?: string,
  ): Promise<Reply>;
  /** A user with a password, member of each tenant (created when missing) as `roles`. */
  member(email: string, tenants: readonly string[], roles?: readonly string[]): Promise<string>;
  /** `POST /auth/magic-link`. */
  requestLink(body: Record<string, string>): Promise<Reply>;
  /** Waits for the next magic link email to `email` (one not returned before); its token. */
  nextLink(email: string): Promise<string>;
  /** Sets the tenant's redirect URIs, as its administrator would. */
  allowRedirects(tenant: string, uris: readonly string[]): Promise<void>;
  /** The tenant's audit trail, oldest first: what each entry says (not who, from where). */
  trail(tenant: string): Promise<AuditPayload[]>;
  close(): Promise<void>;
}

/**
 * Email through the sink, no rate limits (a suite sends more than an IP's burst from
 * one address; the per-address limit is tested on an app of its own), and a lockout
 * that locks after two wrong passwords without slowing anything noticeably.
 */
export async function magicLinkTestApp(
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<MagicLinkTestApp> {
  const sink = await startSmtpSink();
  let base: TestApp;
  try {
    base = await buildTestApp(
      {
        email: { transport: 'smtp', smtp_url: sink.url },
        server: { public_url: 'https://tessera.test' },
        rate_limits: { enabled: false },
        lockout: { max_failures: 2, ip_delay_ms: 1, ip_max_delay_ms: 1 },
        ...overrides,
      },
      engine,
      { actAs: false },
    );
  } catch (error) {
    await sink.close();
    throw error;
  }
  const { app, services } = base;
  const seen = new Map<string, number>();
  const send: MagicLinkTestApp['send'] = async (method, url, body, token) => {
    const response = await app.inject({
      method,
      url: `/api/v1${url}`,
      ...(body === undefined ? {} : { payload: body }),
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
    return {
      status: response.statusCode,
      body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
    };
  };
  const keyHeaders = async (tenant: string, role: string) => ({
    'x-api-key': await apiKeyFor(services, tenant, role),
  });
  return {
    ...base,
    sink,
    send,
    async member(email, tenants, roles = ['admin']) {
      const user = await services.identity.users.createUser({
        email,
        password_hash: await hashPassword(PASSWORD),
      });
      for (const tenant of tenants) {
        if (!(await services.tenancy.tenants.get(tenant))) {
          await services.tenancy.tenants.create({ id: tenant, name: tenant, plan: 'free' });
        }
        await services.tenancy.memberships.grant(tenant, user.id, roles);
      }
      return user.id;
    },
    requestLink: (body) => send('POST', '/auth/magic-link', body),
    async nextLink(email) {
      const links = () => sink.to(email).filter((mail) => mail.template === 'magic_link');
      const already = seen.get(email) ?? 0;
      await until(() => links().length > already, `a magic link email to ${email} arrives`);
      seen.set(email, already + 1);
      return tokenFrom(links()[already] as (typeof sink.messages)[number], '/auth/magic-link');
    },
    async allowRedirects(tenant, uris) {
      const response = await app.inject({
        method: 'PATCH',
        url: `/api/v1/tenants/${tenant}/sign-in-settings`,
        headers: await keyHeaders(tenant, 'admin'),
        payload: { redirect_uris: uris },
      });
      if (response.statusCode !== 200) throw new Error(`redirect URIs: ${response.body}`);
    },
    async trail(tenant) {
      const response = await app.inject({
        url: '/api/v1/audit?order=asc&limit=1000',
        headers: await keyHeaders(tenant, tenant === 'system' ? 'admin' : 'auditor'),
      });
      return (response.json().events as { payload: AuditPayload }[]).map(
        ({ payload: { action, target, outcome, actor_type, details } }) => ({
          action,
          target,
          outcome,
          actor_type,
          details,
        }),
      );
    },
    async close() {
      try {
        await base.close();
      } finally {
        await sink.close();
      }
    },
  };
}
