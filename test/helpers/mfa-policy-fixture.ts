import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { MfaPolicy } from '../../src/access/mfa-policy.ts';
import type { Engine } from '../../src/storage/database.ts';
import { type Credential, type TenancyTestApp, tenancyTestApp } from './tenancy-fixture.ts';

export const PASSWORD = 'a long enough password';

export interface RouteMarks {
  readonly method: string;
  readonly url: string;
  readonly stepUp: boolean;
  readonly mfaSetup: boolean;
}

export interface MfaPolicyApp extends TenancyTestApp {
  /** Every route's method, URL and MFA marks, as the app registered them (HEAD left out). */
  readonly routes: readonly RouteMarks[];
  /** Moves the guard's clock `seconds` ahead of the real one (0: back to it). */
  clockAhead(seconds: number): void;
  /** A new user with `roles` in `tenant`, logged in there with a password. */
  member(
    tenant: string,
    email: string,
    roles: string[],
  ): Promise<{ id: string; token: Credential }>;
  /** Sets the tenant's `mfa_required` as a platform administrator would. */
  setPolicy(tenant: string, policy: MfaPolicy): Promise<void>;
  /**
   * Gives the user a confirmed TOTP factor, as the TOTP routes would (test setup). Call it
   * after the user's logins: a user with a factor no longer gets tokens from a password.
   */
  giveTotp(userId: string): Promise<void>;
  /** Records a second-factor check on the token's session now, through the session store. */
  proveSecondFactor(token: Credential): Promise<void>;
}

/** The session id (`sid`) an access token carries. */
export function sessionIdOf(token: Credential): string {
  assert.ok(token && 'token' in token, 'a session token');
  const payload = JSON.parse(Buffer.from(token.token.split('.')[1] ?? '', 'base64url').toString());
  return payload.sid as string;
}

/**
 * `tenancyTestApp` whose guard runs on a clock the test moves, and which records every
 * route's `stepUp` and `mfaSetup` marks: Fastify announces each new instance on the
 * `fastify.initialization` channel, before any route is added to it.
 */
export async function mfaPolicyApp(t: Pick<TestContext, 'after'>, engine: Engine) {
  let offsetMs = 0;
  const routes: RouteMarks[] = [];
  const watch = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue;
        routes.push({
          method,
          url: route.url,
          stepUp: route.config?.stepUp === true,
          mfaSetup: route.config?.mfaSetup === true,
        });
      }
    });
  };
  subscribe('fastify.initialization', watch);
  let base: TenancyTestApp;
  try {
    base = await tenancyTestApp(t, engine, {}, { services: { now: () => Date.now() + offsetMs } });
  } finally {
    unsubscribe('fastify.initialization', watch);
  }
  const app: MfaPolicyApp = {
    ...base,
    routes,
    clockAhead(seconds) {
      offsetMs = seconds * 1000;
    },
    async member(tenant, email, roles) {
      await base.keyFor(tenant);
      const id = await base.userWith(email, PASSWORD);
      await base.services.tenancy.memberships.grant(tenant, id, roles);
      return { id, token: await base.login(email, PASSWORD, tenant) };
    },
    async setPolicy(tenant, policy) {
      const reply = await base.send('PATCH', `/tenants/${tenant}/sign-in-settings`, base.platform, {
        mfa_required: policy,
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    },
    async giveTotp(userId) {
      const at = Date.now();
      await base.db.kysely
        .insertInto('totp_factors')
        .values({
          user_id: userId,
          secret: 'sealed-test-secret',
          confirmed_ms: at,
          last_step: null,
          created_ms: at,
        })
        .execute();
    },
    async proveSecondFactor(token) {
      const proved = await base.services.identity.sessions.recordProof(sessionIdOf(token), {
        amr: ['otp'],
        secondFactor: true,
      });
      assert.ok(proved, 'a live session');
    },
  };
  return app;
}
