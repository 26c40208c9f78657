import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APP_URL, BASE, fragmentOf } from '../helpers/sso-fixture.ts';
import { CLIENT, connect, me, signIn, oidcWorld as world } from '../helpers/sso-oidc-flow.ts';
import { testEngines } from '../helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`SSO through OpenID Connect (${engine})`, () => {
    it('signs a new person in just in time, with the mapped role, and re-applies it at each sign-in', async (t) => {
      const { idp, sso } = await world(t, engine);
      const connection = await connect(sso, idp);
      assert.equal(connection.oidc.redirect_uri, `${BASE}/sso/oidc/${connection.id}/callback`);
      assert.equal('client_secret' in connection.oidc, false);
      const [row] = await sso.test.db.kysely
        .selectFrom('sso_connections')
        .select('secret_box')
        .where('id', '=', connection.id)
        .execute();
      assert.ok(row?.secret_box && !row.secret_box.includes(CLIENT.client_secret));

      idp.user = {
        sub: 'okta-ada',
        email: 'Ada@Acme.example',
        email_verified: true,
        name: 'Ada',
        groups: ['engineers'],
      };
      const { done } = await signIn(sso, idp, connection.id);
      assert.equal(done.status, 303, done.body);
      assert.ok(done.location.startsWith(`${APP_URL}#`));
      const tokens = fragmentOf(done.location);
      assert.equal(tokens.get('tenant_id'), 'acme');
      const who = await me(sso, tokens.get('access_token') as string);
      assert.equal(who.status, 200, JSON.stringify(who.json));
      assert.equal(who.json.user.email, 'ada@acme.example');
      assert.equal(who.json.user.email_verified, true);
      assert.deepEqual(who.json.roles, ['developer']);

      // The IdP moved her out of the group: the next sign-in gives the default role.
      idp.user = { ...idp.user, groups: [] };
      const again = await signIn(sso, idp, connection.id);
      const second = fragmentOf(again.done.location);
      assert.deepEqual((await me(sso, second.get('access_token') as string)).json.roles, [
        'viewer',
      ]);
      // One account, one link.
      const links = await sso.test.db.kysely.selectFrom('sso_identities').selectAll().execute();
      assert.equal(links.length, 1);

      const metrics = await sso.test.app.inject({ url: '/metrics' });
      assert.match(metrics.body, /sso_logins_total\{type="oidc",outcome="success"\} 2/);
      const audit = await sso.api('GET', '/api/v1/audit?action=sso.login');
      assert.equal(audit.status, 200, JSON.stringify(audit.json));
    });

    it('hands the answer only to the browser that started the sign-in, once', async (t) => {
      const { idp, sso } = await world(t, engine);
      const connection = await connect(sso, idp);
      idp.user = { sub: 'okta-bob', email: 'bob@acme.example', email_verified: true };
      const jar = new Map<string, string>();
      const start = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
        { jar },
      );
      const callback = await idp.authorize(start.location);
      // The callback link, opened in another browser (login CSRF): the answer is kept
      // for the browser that started it, and the other one cannot collect it.
      const other = new Map<string, string>();
      const back = await sso.browse(callback.toString(), { jar: other });
      assert.equal(back.status, 303);
      const stolen = await sso.browse(back.location, { jar: other });
      assert.equal(stolen.status, 400);
      assert.match(stolen.body, /another browser/);
      // Spent by that attempt: the right browser cannot use it either.
      const late = await sso.browse(back.location, { jar });
      assert.equal(late.status, 400);
      // The callback again (a replayed code and state): refused.
      const replay = await sso.browse(callback.toString(), { jar });
      assert.equal(replay.status, 400);
      assert.equal(
        (await sso.test.db.kysely.selectFrom('sso_identities').selectAll().execute()).length,
        0,
      );
    });

    it('refuses a callback whose state or nonce is not the request’s', async (t) => {
      const { idp, sso } = await world(t, engine);
      const connection = await connect(sso, idp);
      const jar = new Map<string, string>();
      const first = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
        { jar },
      );
      const second = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
        { jar },
      );
      const callback = await idp.authorize(first.location);
      // The code of the first request with the state of the second.
      const crossed = new URL(callback);
      crossed.searchParams.set('state', new URL(second.location).searchParams.get('state') ?? '');
      const refused = await sso.browse(crossed.toString(), { jar });
      assert.equal(refused.status, 401, refused.body);
      assert.match(refused.body, /state_mismatch|refused/);

      // A request whose nonce is not the one the IdP put in the ID token.
      const third = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
        { jar },
      );
      const state = new URL(third.location).searchParams.get('state') ?? '';
      const [pending] = await sso.test.db.kysely
        .selectFrom('sso_requests')
        .select('protocol_state')
        .where('id', '=', state)
        .execute();
      const protocol = JSON.parse(pending?.protocol_state ?? '{}');
      await sso.test.db.kysely
        .updateTable('sso_requests')
        .set({ protocol_state: JSON.stringify({ ...protocol, nonce: 'another-nonce' }) })
        .where('id', '=', state)
        .execute();
      const wrongNonce = await sso.browse((await idp.authorize(third.location)).toString(), {
        jar,
      });
      assert.equal(wrongNonce.status, 401, wrongNonce.body);
      assert.match(wrongNonce.body, /nonce_mismatch/);
      const failures = await sso.test.app.inject({ url: '/metrics' });
      assert.match(failures.body, /sso_logins_total\{type="oidc",outcome="failure"\} 2/);
    });

    it('links an existing account only by an email the IdP vouches for', async (t) => {
      const { idp, sso } = await world(t, engine);
      const connection = await connect(sso, idp);
      await sso.adminKey('acme');
      const admin = await sso.test.services.identity.users.createUser({
        email: 'boss@acme.example',
        name: 'Boss',
      });
      await sso.test.services.tenancy.memberships.grant('acme', admin.id, ['admin']);
      idp.user = { sub: 'evil', email: 'boss@acme.example', email_verified: false };
      const refused = await signIn(sso, idp, connection.id);
      assert.equal(refused.done.status, 403, refused.done.body);
      assert.match(refused.done.body, /does not vouch/);
      // Nothing changed: no link, no session for the admin.
      assert.equal(
        (await sso.test.db.kysely.selectFrom('sso_identities').selectAll().execute()).length,
        0,
      );
      const sessions = await sso.test.db.kysely
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', admin.id)
        .execute();
      assert.equal(sessions.length, 0);
      // Vouched for: linked, and the admin keeps admin (the last one).
      idp.user = { sub: 'boss', email: 'boss@acme.example', email_verified: true };
      const { done } = await signIn(sso, idp, connection.id);
      const who = await me(sso, fragmentOf(done.location).get('access_token') as string);
      assert.equal(who.json.user.id, admin.id);
      assert.ok(who.json.roles.includes('admin'));
    });
  });
}
