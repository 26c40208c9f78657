import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import type { Credential, Reply } from './tenancy-fixture.ts';
import { type Member, type UsersTestApp, usersTestApp } from './tenancy-users-fixture.ts';

/** A confidential web application: sign-in with a code, refresh tokens. */
export const WEB_CLIENT = {
  name: 'Acme web',
  type: 'confidential',
  grant_types: ['authorization_code', 'refresh_token'],
  redirect_uris: ['https://app.acme.test/callback'],
  post_logout_redirect_uris: ['https://app.acme.test/'],
  scopes: ['openid', 'profile', 'email', 'offline_access'],
} as const;

/** A machine client acting with a role of its tenant. */
export const MACHINE_CLIENT = {
  name: 'Acme ingest',
  type: 'confidential',
  grant_types: ['client_credentials'],
  role: 'service',
  scopes: ['events:read', 'events:write'],
} as const;

/** A native application: public, PKCE, a private-use scheme. */
export const NATIVE_CLIENT = {
  name: 'Acme mobile',
  type: 'public',
  grant_types: ['authorization_code'],
  redirect_uris: ['com.acme.app:/callback', 'http://127.0.0.1/callback'],
  scopes: ['openid'],
} as const;

export interface ClientsTestApp extends UsersTestApp {
  /** An admin of `acme`, signed in. */
  readonly admin: Member;
  /** Registers a client as `as` (acme's admin by default). */
  register(body: object, as?: Credential): Promise<Reply>;
}

/** The app with acme's admin signed in, for the `/oauth/clients` routes. */
export async function clientsTestApp(
  t: Pick<TestContext, 'after'>,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<ClientsTestApp> {
  const app = await usersTestApp(t, engine, overrides);
  const admin = await app.member('acme', 'ada@acme.test', ['admin']);
  return {
    ...app,
    admin,
    register: (body, as = admin.token) => app.send('POST', '/oauth/clients', as, body),
  };
}
