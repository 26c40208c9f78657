import assert from 'node:assert/strict';
import type { OidcWorld } from './oidc-fixture.ts';
import { PASSWORD } from './oidc-fixture.ts';
import { totpCode } from './totp.ts';

/**
 * Enrolls an authenticator app for a user through the JSON API (a password login,
 * then `POST /auth/mfa/totp` and its confirmation), codes from the independent RFC 6238
 * implementation; the base32 secret, to compute later codes with.
 */
export async function enrollTotpFor(world: OidcWorld, email: string): Promise<string> {
  const api = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${world.issuer}/api/v1${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const login = await api('/auth/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const token = String(login.body.access_token);
  const started = await api('/auth/mfa/totp', {}, token);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const secret = String(started.body.secret);
  const confirmed = await api('/auth/mfa/totp/confirm', { code: totpCode(secret) }, token);
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  return secret;
}
