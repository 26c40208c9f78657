import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import { type Credential, type TenancyTestApp, tenancyTestApp } from './tenancy-fixture.ts';

export const PASSWORD = 'a long enough password';

export interface Member {
  readonly id: string;
  readonly email: string;
  readonly token: Credential;
}

export interface AuditPayload {
  readonly action: string;
  readonly actor: string | null;
  readonly actor_type: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly details: Record<string, unknown>;
}

export interface UsersTestApp extends TenancyTestApp {
  /** A new user with `roles` in `tenant` (created if missing), logged in there. */
  member(tenant: string, email: string, roles: string[]): Promise<Member>;
  /**
   * Signs in as the invitee (in the inviting tenant, with no role), accepts the
   * invitation to `tenant`, and logs in again to use the roles: what a user does.
   */
  accept(email: string, tenant: string, password?: string): Promise<Credential>;
  /** The tenant's audit payloads (`GET /audit`, oldest first) whose action starts with `prefix`. */
  audit(tenant: string, prefix: string): Promise<AuditPayload[]>;
  /** How many sessions (revoked or not) the user has in the database. */
  sessionRows(userId: string): Promise<number>;
}

/** `tenancyTestApp` plus members, their sessions and the audit trail, for the user routes. */
export async function usersTestApp(
  t: Pick<TestContext, 'after'>,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<UsersTestApp> {
  const base = await tenancyTestApp(t, engine, overrides);
  return {
    ...base,
    async member(tenant, email, roles) {
      await base.keyFor(tenant);
      const id = await base.userWith(email, PASSWORD);
      await base.services.tenancy.memberships.grant(tenant, id, roles);
      return { id, email, token: await base.login(email, PASSWORD, tenant) };
    },
    accept: (email, tenant, password = PASSWORD) => base.acceptInvitation(email, password, tenant),
    async audit(tenant, prefix) {
      const admin = await base.keyFor(tenant);
      const payloads: AuditPayload[] = [];
      let after: unknown = null;
      do {
        const cursor = after === null ? '' : `&after=${after}`;
        const reply = await base.send('GET', `/audit?order=asc&limit=1000${cursor}`, admin);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const events = reply.body.events as { event_type: string; payload: AuditPayload }[];
        for (const event of events) assert.equal(event.event_type, event.payload.action);
        payloads.push(...events.map((event) => event.payload));
        after = reply.body.next_cursor;
      } while (after !== null);
      return payloads.filter((payload) => payload.action.startsWith(prefix));
    },
    async sessionRows(userId) {
      const rows = await base.db.kysely
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .execute();
      return rows.length;
    },
  };
}
