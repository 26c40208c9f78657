import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/identity/login/passwords.ts';
import type { Engine } from '../../src/storage/database.ts';
import { buildTestApp, type DeepPartial, type TestApp, type TestAppOptions } from './app.ts';
import { apiKeyFor } from './auth.ts';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export type Credential = { key: string } | { token: string } | null;

export interface TenancyTestApp extends TestApp {
  /** An admin key of the `system` tenant: a platform administrator. */
  readonly platform: Credential;
  send(method: string, url: string, as: Credential, payload?: unknown): Promise<Reply>;
  /** An API key with `role` in `tenant` (created if missing). */
  keyFor(tenant: string, role?: string): Promise<Credential>;
  /** A user with this password, created directly in the store. */
  userWith(email: string, password: string): Promise<string>;
  /**
   * Signs in as the invitee (in the inviting tenant, with no role), accepts the
   * invitation to `tenant`, and logs in again to use the roles: what a user does.
   */
  acceptInvitation(email: string, password: string, tenant: string): Promise<Credential>;
  /** Logs in through the API; returns the access token as a credential. */
  login(email: string, password: string, tenantId: string): Promise<Credential>;
}

/** The app with no default credentials: every request names who it is. */
export async function tenancyTestApp(
  t: Pick<TestContext, 'after'>,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
  options: Omit<TestAppOptions, 'actAs'> = {},
): Promise<TenancyTestApp> {
  const base = await buildTestApp(overrides, engine, { ...options, actAs: false });
  t.after(() => base.close());
  const send: TenancyTestApp['send'] = async (method, url, as, payload) => {
    const headers: Record<string, string> = {};
    if (as && 'key' in as) headers['x-api-key'] = as.key;
    if (as && 'token' in as) headers.authorization = `Bearer ${as.token}`;
    const response = await base.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return {
      status: response.statusCode,
      body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
    };
  };
  const login = async (email: string, password: string, tenantId: string) => {
    const reply = await send('POST', '/auth/login', null, { email, password, tenant_id: tenantId });
    if (reply.status !== 200) throw new Error(`login failed: ${JSON.stringify(reply.body)}`);
    return { token: reply.body.access_token as string };
  };
  const keyFor = async (tenant: string, role = 'admin') => ({
    key: await apiKeyFor(base.services, tenant, role),
  });
  return {
    ...base,
    platform: await keyFor('system'),
    send,
    keyFor,
    async userWith(email, password) {
      const user = await base.services.identity.users.createUser({
        email,
        password_hash: await hashPassword(password),
      });
      return user.id;
    },
    login,
    async acceptInvitation(email, password, tenant) {
      const invitee = await login(email, password, tenant);
      const listed = await send('GET', '/auth/invitations', invitee);
      const invitation = (
        listed.body.invitations as { id: string; tenant_id: string }[] | undefined
      )?.find((found) => found.tenant_id === tenant);
      if (!invitation)
        throw new Error(`no invitation to ${tenant}: ${JSON.stringify(listed.body)}`);
      const accepted = await send('POST', `/auth/invitations/${invitation.id}/accept`, invitee);
      if (accepted.status !== 200)
        throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
      return login(email, password, tenant);
    },
  };
}
