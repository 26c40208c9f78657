import type { TestContext } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import { type TenancyTestApp, tenancyTestApp } from './tenancy-fixture.ts';

export const PASSWORD = 'correct horse battery staple';

/**
 * Lockout tests log in many times from one IP: the rate limits (issue 6, deliverable
 * 1) must not be what refuses them.
 */
export const GENEROUS_RATE_LIMITS = {
  email_burst: 1000,
  email_per_hour: 1000,
  ip_burst: 1000,
  ip_per_minute: 1000,
};

/** Small numbers, so a test reaches every threshold in a few requests. */
export const TEST_LOCKOUT: Config['lockout'] = {
  enabled: true,
  max_failures: 3,
  window_seconds: 60,
  lock_seconds: 120,
  ip_delay_ms: 100,
  ip_max_delay_ms: 500,
};

export interface LockoutTestApp extends TenancyTestApp {
  /** The lockout's clock: starts at the real time, moves only when a test moves it. */
  advance(seconds: number): void;
  /** Every wait a slowed login asked for, in order (nobody actually waits). */
  readonly delays: number[];
  /** How many times a password was checked against an account's own hash. */
  passwordChecks(): number;
  /** POST /auth/login from `ip` (default 127.0.0.1), the raw response. */
  attempt(email: string, password: string, ip?: string): Promise<LightMyRequestResponse>;
  /** A user with PASSWORD, member of `tenant` (created if missing) with `role`. */
  member(email: string, tenant: string, role?: string): Promise<string>;
}

export async function lockoutTestApp(
  t: TestContext,
  engine: Engine,
  lockout: Partial<Config['lockout']> = {},
): Promise<LockoutTestApp> {
  let clock = Date.now();
  const delays: number[] = [];
  let checks = 0;
  const test = await tenancyTestApp(
    t,
    engine,
    { rate_limits: GENEROUS_RATE_LIMITS, lockout: { ...TEST_LOCKOUT, ...lockout } },
    {
      services: {
        now: () => clock,
        sleep: async (ms) => {
          delays.push(ms);
        },
        onPasswordCheck: () => {
          checks += 1;
        },
      },
    },
  );
  return {
    ...test,
    delays,
    passwordChecks: () => checks,
    advance(seconds) {
      clock += seconds * 1000;
    },
    attempt: (email, password, ip = '127.0.0.1') =>
      test.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: ip,
        payload: { email, password },
      }),
    async member(email, tenant, role = 'viewer') {
      await test.keyFor(tenant);
      const id = await test.userWith(email, PASSWORD);
      await test.services.tenancy.memberships.grant(tenant, id, [role]);
      return id;
    },
  };
}

/**
 * Headers that differ between any two answers whatever the accounts: the time, and the
 * caller's own rate-limit buckets (keyed by the email as typed and by IP, so they count
 * requests, not accounts).
 */
const UNTOLD_HEADERS = /^(date|x-ratelimit-.*)$/;

/**
 * What a client sees of an answer, with its request id blanked (different every time),
 * and without the headers above, which tell nothing about the account.
 */
export function observable(response: LightMyRequestResponse): string {
  const id = String(response.headers['x-request-id'] ?? '');
  const headers = Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => !UNTOLD_HEADERS.test(name)),
  );
  const seen = JSON.stringify({ status: response.statusCode, headers, body: response.body });
  return id === '' ? seen : seen.split(id).join('<request-id>');
}
