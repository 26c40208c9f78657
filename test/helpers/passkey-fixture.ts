import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import { type CeremonyOptions, PasskeyAuthenticator } from './passkey-authenticator.ts';
import type { Credential, Reply } from './tenancy-fixture.ts';
import { type UsersTestApp, usersTestApp } from './tenancy-users-fixture.ts';

export const RP_ID = 'tessera.test';
export const ORIGIN = 'https://tessera.test';

export interface PasskeyTestApp extends UsersTestApp {
  /** A software authenticator for the configured origin. */
  authenticator(): PasskeyAuthenticator;
  /** Options, then the authenticator's answer posted to verify: the verify reply. */
  register(
    as: Credential,
    authenticator: PasskeyAuthenticator,
    ceremony?: CeremonyOptions & { name?: string },
  ): Promise<Reply>;
  /** A usernameless sign-in: options, the authenticator's assertion, verify. */
  passkeyLogin(authenticator: PasskeyAuthenticator, ceremony?: CeremonyOptions): Promise<Reply>;
  /** POST with no credentials, the raw reply. */
  post(url: string, payload?: unknown): Promise<Reply>;
}

/** The users fixture with passkeys configured for `https://tessera.test`. */
export async function passkeyTestApp(
  t: Pick<TestContext, 'after'>,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<PasskeyTestApp> {
  const base = await usersTestApp(t, engine, {
    webauthn: { rp_id: RP_ID, origins: [ORIGIN] },
    rate_limits: { enabled: false },
    // Queued in the outbox, "sent" to the (silenced) log: the mfa_changed notices.
    email: { transport: 'log' },
    ...overrides,
  });
  const post = (url: string, payload?: unknown) => base.send('POST', url, null, payload ?? {});
  return {
    ...base,
    post,
    authenticator: () => new PasskeyAuthenticator(ORIGIN),
    async register(as, authenticator, ceremony = {}) {
      const options = await base.send('POST', '/auth/passkeys/register/options', as);
      assert.equal(options.status, 200, JSON.stringify(options.body));
      const response = authenticator.create(options.body, ceremony);
      return base.send('POST', '/auth/passkeys/register/verify', as, {
        response,
        ...(ceremony.name ? { name: ceremony.name } : {}),
      });
    },
    async passkeyLogin(authenticator, ceremony = {}) {
      const options = await post('/auth/passkeys/login/options');
      assert.equal(options.status, 200, JSON.stringify(options.body));
      return post('/auth/passkeys/login/verify', {
        response: authenticator.get(options.body, ceremony),
      });
    },
  };
}

/** The claims of an access token (not verified: the server did that). */
export function claimsOf(token: unknown): Record<string, unknown> {
  const payload = String(token).split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
