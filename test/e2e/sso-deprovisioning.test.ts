import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../helpers/auth.ts';
import type { OidcIdp } from '../helpers/oidc-idp.ts';
import { fragmentOf, type SsoWorld } from '../helpers/sso-fixture.ts';
import { connect, me, oidcWorld, signIn } from '../helpers/sso-oidc-flow.ts';
import { testEngines } from '../helpers/test-database.ts';

const DAY_MS = 86_400_000;

/** One person's SSO sign-in to acme; their user id and access token. */
async function person(
  sso: SsoWorld,
  idp: OidcIdp,
  connectionId: string,
  name: string,
  groups: string[] = [],
) {
  idp.user = { sub: name, email: `${name}@acme.example`, email_verified: true, groups };
  const tokens = fragmentOf((await signIn(sso, idp, connectionId)).done.location);
  const token = tokens.get('access_token') as string;
  const who = await me(sso, token);
  assert.equal(who.status, 200, JSON.stringify(who.json));
  return { id: who.json.user.id as string, token, roles: who.json.roles as string[] };
}

/** Makes a person's last SSO sign-in `days` old, as if time had passed. */
async function age(sso: SsoWorld, userId: string, days: number): Promise<void> {
  await sso.test.db.kysely
    .updateTable('sso_identities')
    .set({ last_login_ms: Date.now() - days * DAY_MS })
    .where('user_id', '=', userId)
    .execute();
}

async function status(sso: SsoWorld, userId: string): Promise<string | undefined> {
  const row = await sso.test.db.kysely
    .selectFrom('memberships')
    .select('status')
    .where('tenant_id', '=', 'acme')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.status;
}

const settings = (sso: SsoWorld, body: object) =>
  sso.api('PATCH', '/api/v1/tenants/acme/sign-in-settings', { body });

const run = (sso: SsoWorld, key?: string) =>
  sso.api('POST', '/api/v1/sso/deprovisioning/run', key === undefined ? {} : { key });

for (const engine of testEngines()) {
  describe(`SSO deprovisioning (${engine})`, () => {
    it('deactivates members idle at the IdP, ending their sessions, and keeps the last admin and break-glass admins', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      const connection = await connect(sso, idp, 'acme', {
        mapping: {
          default_roles: ['viewer'],
          groups: [{ group: 'admins', roles: ['admin'] }],
        },
      });
      const alice = await person(sso, idp, connection.id, 'alice');
      const bob = await person(sso, idp, connection.id, 'bob');
      const carol = await person(sso, idp, connection.id, 'carol', ['admins']);
      // A member who never signed in through SSO is not the IdP's to judge.
      const local = await sso.test.services.identity.users.createUser({
        email: 'local@acme.example',
      });
      await sso.test.services.tenancy.memberships.grant('acme', local.id, ['viewer']);
      await age(sso, alice.id, 40);
      await age(sso, carol.id, 40);
      await age(sso, bob.id, 5);

      // Off until the tenant sets a number of days.
      assert.deepEqual((await run(sso)).json, { deactivated: [] });
      const viewer = await apiKeyFor(sso.test.services, 'acme', 'viewer');
      const forbidden = await run(sso, viewer);
      assert.equal(forbidden.status, 403, JSON.stringify(forbidden.json));

      const set = await settings(sso, { sso_deprovision_days: 30 });
      assert.equal(set.status, 200, JSON.stringify(set.json));
      assert.equal(set.json.sso_deprovision_days, 30);
      const first = await run(sso);
      assert.equal(first.status, 200, JSON.stringify(first.json));
      // Carol is idle too, but she is the tenant's only admin.
      assert.deepEqual(first.json, { deactivated: [alice.id] });
      assert.equal(await status(sso, alice.id), 'deactivated');
      assert.equal((await me(sso, alice.token)).status, 401);
      for (const kept of [bob, carol]) {
        assert.equal(await status(sso, kept.id), 'active');
        assert.equal((await me(sso, kept.token)).status, 200);
      }
      assert.equal(await status(sso, local.id), 'active');
      const audit = await sso.api('GET', '/api/v1/audit?action=user.deactivated');
      assert.equal(audit.json.events.length, 1);
      assert.equal(audit.json.events[0].payload.target, `user:${alice.id}`);
      const details = audit.json.events[0].payload.details;
      assert.equal(details.via, 'sso_deprovisioning');
      assert.equal(details.idle_days, 30);
      // Her one session, ended.
      assert.equal(details.sessions_revoked.length, 1);
      // Deactivated, she stays out: the IdP's route refuses her too.
      idp.user = { sub: 'alice', email: 'alice@acme.example', email_verified: true };
      assert.equal((await signIn(sso, idp, connection.id)).done.status, 403);

      // A second admin, made break-glass: now Carol can go, and Dave never does.
      const dave = await person(sso, idp, connection.id, 'dave', ['admins']);
      const glass = await settings(sso, { sso_break_glass: [dave.id] });
      assert.equal(glass.status, 200, JSON.stringify(glass.json));
      await age(sso, dave.id, 400);
      assert.deepEqual((await run(sso)).json, { deactivated: [carol.id] });
      assert.equal(await status(sso, dave.id), 'active');
      // Idempotent: a second pass finds nothing more to do.
      assert.deepEqual((await run(sso)).json, { deactivated: [] });
    });

    it('never lets the mapping change a break-glass admin’s roles', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      const connection = await connect(sso, idp, 'acme', {
        mapping: {
          default_roles: ['viewer'],
          groups: [{ group: 'admins', roles: ['admin'] }],
        },
      });
      const dave = await person(sso, idp, connection.id, 'dave', ['admins']);
      await person(sso, idp, connection.id, 'erin', ['admins']);
      assert.deepEqual(dave.roles, ['admin']);
      const glass = await settings(sso, { sso_break_glass: [dave.id] });
      assert.equal(glass.status, 200, JSON.stringify(glass.json));

      // The IdP drops both from its admins group: Erin follows it, Dave stays admin.
      assert.deepEqual((await person(sso, idp, connection.id, 'erin')).roles, ['viewer']);
      assert.deepEqual((await person(sso, idp, connection.id, 'dave')).roles, ['admin']);
    });
  });
}
