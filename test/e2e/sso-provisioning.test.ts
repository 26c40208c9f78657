import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fragmentOf, type SsoWorld } from '../helpers/sso-fixture.ts';
import { connect, me, oidcWorld, signIn } from '../helpers/sso-oidc-flow.ts';
import { testEngines } from '../helpers/test-database.ts';

async function team(sso: SsoWorld, name: string): Promise<string> {
  const made = await sso.api('POST', '/api/v1/teams', { body: { name } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  return made.json.id;
}

async function teamMembers(sso: SsoWorld, teamId: string): Promise<string[]> {
  const rows = await sso.test.db.kysely
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .execute();
  return rows.map((row) => row.user_id);
}

for (const engine of testEngines()) {
  describe(`SSO provisioning (${engine})`, () => {
    it('places members in the mapped teams at each sign-in, leaving other teams alone', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      await sso.adminKey('acme');
      const platform = await team(sso, 'Platform');
      const handmade = await team(sso, 'Handmade');
      const connection = await connect(sso, idp, 'acme', {
        mapping: {
          default_roles: ['viewer'],
          groups: [{ group: 'platform', roles: ['operator'], teams: [platform] }],
        },
      });
      idp.user = {
        sub: 's-1',
        email: 'eve@acme.example',
        email_verified: true,
        groups: ['platform'],
      };
      const first = fragmentOf((await signIn(sso, idp, connection.id)).done.location);
      const who = await me(sso, first.get('access_token') as string);
      assert.deepEqual(who.json.roles, ['operator']);
      assert.deepEqual(await teamMembers(sso, platform), [who.json.user.id]);
      // An administrator puts her in a team the connection does not map.
      const put = await sso.api('PUT', `/api/v1/teams/${handmade}/members/${who.json.user.id}`);
      assert.ok(put.status < 300, JSON.stringify(put.json));

      idp.user = { ...idp.user, groups: [] };
      await signIn(sso, idp, connection.id);
      assert.deepEqual(await teamMembers(sso, platform), []);
      assert.deepEqual(await teamMembers(sso, handmade), [who.json.user.id]);
    });

    it('creates nobody when just-in-time creation is off, and links only accounts of its own tenant', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      const connection = await connect(sso, idp, 'acme', { mapping: { jit: false } });
      idp.user = { sub: 'new', email: 'new@acme.example', email_verified: true };
      const unknown = await signIn(sso, idp, connection.id);
      assert.equal(unknown.done.status, 403, unknown.done.body);
      assert.match(unknown.done.body, /invite you/);
      assert.equal(
        await sso.test.services.identity.users.findByEmail('new@acme.example'),
        undefined,
      );

      // An account of acme and of beta: acme's IdP may not take it over.
      await sso.adminKey('beta');
      const shared = await sso.test.services.identity.users.createUser({
        email: 'consultant@acme.example',
      });
      await sso.test.services.tenancy.memberships.grant('acme', shared.id, ['viewer']);
      await sso.test.services.tenancy.memberships.grant('beta', shared.id, ['admin']);
      idp.user = { sub: 'c', email: 'consultant@acme.example', email_verified: true };
      const refused = await signIn(sso, idp, connection.id);
      assert.equal(refused.done.status, 403, refused.done.body);
      assert.match(refused.done.body, /other organizations/);

      // An account of acme alone is linked (jit off: it is a member already).
      const member = await sso.test.services.identity.users.createUser({ email: 'm@acme.example' });
      await sso.test.services.tenancy.memberships.grant('acme', member.id, ['developer']);
      idp.user = { sub: 'm', email: 'm@acme.example', email_verified: true };
      const linked = fragmentOf((await signIn(sso, idp, connection.id)).done.location);
      const who = await me(sso, linked.get('access_token') as string);
      assert.equal(who.json.user.id, member.id);
      // The mapping decides the role now: the default, viewer.
      assert.deepEqual(who.json.roles, ['viewer']);
      const audit = await sso.api('GET', '/api/v1/audit?action=sso.identity_linked');
      assert.equal(audit.json.events.length, 1);
      const failures = await sso.api('GET', '/api/v1/audit?action=sso.login&outcome=failure');
      assert.deepEqual(
        failures.json.events
          .map(
            (event: { payload: { details: { reason: string } } }) => event.payload.details.reason,
          )
          .sort(),
        ['account_shared', 'not_provisioned'],
      );
    });

    it('signs a deactivated member out of the IdP route too, and a disabled connection in nobody', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      const connection = await connect(sso, idp);
      idp.user = { sub: 'd', email: 'dan@acme.example', email_verified: true };
      const first = fragmentOf((await signIn(sso, idp, connection.id)).done.location);
      const userId = (await me(sso, first.get('access_token') as string)).json.user.id;
      const deactivated = await sso.api('POST', `/api/v1/users/${userId}/deactivate`);
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.json));
      const again = await signIn(sso, idp, connection.id);
      assert.equal(again.done.status, 403, again.done.body);
      assert.match(again.done.body, /deactivated/);

      await sso.api('PATCH', `/api/v1/sso/connections/${connection.id}`, {
        body: { enabled: false },
      });
      const start = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent('http://127.0.0.1:5999/app')}`,
      );
      assert.equal(start.status, 403);
      assert.match(start.body, /disabled/);
    });

    it('makes no account in a suspended tenant, and keeps the mapping to roles it still defines', async (t) => {
      const { idp, sso } = await oidcWorld(t, engine);
      const role = await sso.api('POST', '/api/v1/roles', {
        body: { name: 'compliance', permissions: ['audit:read'] },
      });
      assert.equal(role.status, 201, JSON.stringify(role.json));
      const connection = await connect(sso, idp, 'acme', {
        mapping: {
          default_roles: ['viewer'],
          groups: [{ group: 'audit', roles: ['compliance', 'developer'] }],
        },
      });
      await sso.test.services.tenancy.tenants.setStatus('acme', 'suspended');
      idp.user = { sub: 'z', email: 'zoe@acme.example', email_verified: true, groups: ['audit'] };
      const suspended = await signIn(sso, idp, connection.id);
      assert.equal(suspended.done.status, 403, suspended.done.body);
      assert.match(suspended.done.body, /suspended/);
      assert.equal(
        await sso.test.services.identity.users.findByEmail('zoe@acme.example'),
        undefined,
      );

      await sso.test.services.tenancy.tenants.setStatus('acme', 'active');
      // The custom role is deleted after the mapping was saved: the mapping's other
      // role stays, and the sign-in works.
      const deleted = await sso.api('DELETE', '/api/v1/roles/compliance');
      assert.ok(deleted.status < 300, JSON.stringify(deleted.json));
      const tokens = fragmentOf((await signIn(sso, idp, connection.id)).done.location);
      assert.deepEqual((await me(sso, tokens.get('access_token') as string)).json.roles, [
        'developer',
      ]);
    });
  });
}
