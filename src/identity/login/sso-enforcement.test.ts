import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { magicLinkTestApp } from '../../../test/helpers/magic-link-fixture.ts';
import { claimsOf, passkeyTestApp } from '../../../test/helpers/passkey-fixture.ts';
import { enforceSso } from '../../../test/helpers/sso-enforcement-fixture.ts';
import type { Credential } from '../../../test/helpers/tenancy-fixture.ts';
import { PASSWORD } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

// Issue 20: a tenant enforcing SSO refuses its members' other sign-ins (403
// sso_required), except its break-glass administrators'.
for (const engine of testEngines()) {
  describe(`SSO enforcement at sign-in (${engine})`, () => {
    it('password login: refused for a member, audited, no session; a break-glass admin gets in', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const boss = await app.member('acme', 'boss@acme.test', ['admin']);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      await enforceSso(app.send, await app.keyFor('acme'), 'acme', [boss.id]);
      const sessionsBefore = await app.sessionRows(ann.id);
      for (const body of [
        { email: ann.email, password: PASSWORD, tenant_id: 'acme' },
        // Naming no tenant: acme is her only one.
        { email: ann.email, password: PASSWORD },
      ]) {
        const refused = await app.send('POST', '/auth/login', null, body);
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.body.code, 'sso_required');
        assert.match(String(refused.body.detail), /single sign-on/);
      }
      assert.equal(await app.sessionRows(ann.id), sessionsBefore, 'no session started');
      const failed = (await app.audit('acme', 'login.failed')).filter(
        (entry) => entry.target === `user:${ann.id}`,
      );
      assert.deepEqual(
        failed.map((entry) => entry.details.reason),
        ['sso_required', 'sso_required'],
      );
      // A wrong password still answers 401: nothing is said before the password is proved.
      const wrong = await app.send('POST', '/auth/login', null, {
        email: ann.email,
        password: 'not the password',
        tenant_id: 'acme',
      });
      assert.equal(wrong.status, 401);
      const breakGlass = await app.send('POST', '/auth/login', null, {
        email: boss.email,
        password: PASSWORD,
        tenant_id: 'acme',
      });
      assert.equal(breakGlass.status, 200, JSON.stringify(breakGlass.body));
      assert.equal(claimsOf(breakGlass.body.access_token).tid, 'acme');
    });

    it('a user of two tenants, one enforcing, signs in to the other', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const boss = await app.member('acme', 'boss@acme.test', ['admin']);
      const cy = await app.member('acme', 'cy@example.com', ['viewer']);
      await app.keyFor('beta');
      await app.services.tenancy.memberships.grant('beta', cy.id, ['viewer']);
      await enforceSso(app.send, await app.keyFor('acme'), 'acme', [boss.id]);
      const chosen = await app.send('POST', '/auth/login', null, {
        email: cy.email,
        password: PASSWORD,
      });
      assert.equal(chosen.status, 200, JSON.stringify(chosen.body));
      assert.equal(chosen.body.tenant_id, 'beta');
      assert.equal(claimsOf(chosen.body.access_token).tid, 'beta');
      const named = await app.send('POST', '/auth/login', null, {
        email: cy.email,
        password: PASSWORD,
        tenant_id: 'acme',
      });
      assert.equal(named.status, 403);
      assert.equal(named.body.code, 'sso_required');
      // Enforcement off again: with two tenants and none named, the login asks which.
      const off = await app.send(
        'PATCH',
        '/tenants/acme/sign-in-settings',
        await app.keyFor('acme'),
        {
          sso_enforced: false,
        },
      );
      assert.equal(off.status, 200);
      const ambiguous = await app.send('POST', '/auth/login', null, {
        email: cy.email,
        password: PASSWORD,
      });
      assert.equal(ambiguous.status, 400);
      assert.equal(ambiguous.body.code, 'tenant_required');
    });

    it('passkey login: refused for a member, allowed for a break-glass admin', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const boss = await app.member('acme', 'boss@acme.test', ['admin']);
      const dee = await app.member('acme', 'dee@acme.test', ['viewer']);
      const bossKey = app.authenticator();
      const deeKey = app.authenticator();
      assert.equal((await app.register(boss.token, bossKey)).status, 201);
      assert.equal((await app.register(dee.token as Credential, deeKey)).status, 201);
      await enforceSso(app.send, await app.keyFor('acme'), 'acme', [boss.id]);
      const sessionsBefore = await app.sessionRows(dee.id);
      const refused = await app.passkeyLogin(deeKey);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'sso_required');
      assert.equal(await app.sessionRows(dee.id), sessionsBefore);
      const failed = await app.audit('acme', 'login.failed');
      assert.equal(failed.at(-1)?.target, `user:${dee.id}`);
      assert.equal(failed.at(-1)?.details.reason, 'sso_required');
      const allowed = await app.passkeyLogin(bossKey);
      assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    });
  });

  describe(`SSO enforcement of magic links (${engine})`, () => {
    it('turning enforcement on ends the sessions it would refuse, not a break-glass admin’s nor a federated one', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const boss = await app.member('acme', 'boss@acme.test', ['admin']);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      const fed = await app.member('acme', 'fed@acme.test', ['viewer']);
      // Ann in beta too: enforcing acme leaves her beta session alone.
      await app.keyFor('beta');
      await app.services.tenancy.memberships.grant('beta', ann.id, ['viewer']);
      const annInBeta = await app.login(ann.email, PASSWORD, 'beta');
      const federated = await app.services.identity.sessions.start(
        fed.id,
        'acme',
        { ip: null, user_agent: null },
        undefined,
        { amr: ['fed'], secondFactor: false, authTimeMs: Date.now() },
      );
      const me = async (as: Credential) => (await app.send('GET', '/auth/me', as)).status;
      assert.equal(await me(ann.token), 200);

      await enforceSso(app.send, await app.keyFor('acme'), 'acme', [boss.id]);
      assert.equal(await me(ann.token), 401, 'her password session in acme ended');
      assert.equal(await me(fed.token), 401, 'so did his password one');
      assert.equal(await me(boss.token), 200, 'the break-glass admin keeps hers');
      assert.equal(await me(annInBeta), 200, 'another tenant is not touched');
      const sso = await app.db.kysely
        .selectFrom('sessions')
        .select(['revoked_ms'])
        .where('id', '=', federated.session_id)
        .executeTakeFirstOrThrow();
      assert.equal(sso.revoked_ms, null, 'a session proved through the IdP stays');
      const updated = (await app.audit('acme', 'tenant.sign_in_settings_updated')).at(-1);
      assert.equal(updated?.details.sessions_revoked, 2);
    });

    it('no link is sent for an enforcing tenant, and one sent before is refused and spent', async (t) => {
      const app = await magicLinkTestApp(engine);
      t.after(() => app.close());
      const boss = await app.member('boss@acme.test', ['acme'], ['admin']);
      await app.member('eve@acme.test', ['acme'], ['viewer']);
      const link = (await app.requestLink({ email: 'eve@acme.test', tenant_id: 'acme' })).status;
      assert.equal(link, 202);
      const token = await app.nextLink('eve@acme.test');
      const send = async (method: string, url: string, as: Credential, payload?: unknown) => {
        const headers: Record<string, string> = as && 'key' in as ? { 'x-api-key': as.key } : {};
        const response = await app.app.inject({
          method: method as 'GET',
          url: `/api/v1${url}`,
          headers,
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        return { status: response.statusCode, body: response.json() as Record<string, unknown> };
      };
      await enforceSso(send, { key: await apiKeyFor(app.services, 'acme', 'admin') }, 'acme', [
        boss,
      ]);

      const refused = await app.send('POST', '/auth/magic-link/verify', { token });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'sso_required');
      const again = await app.send('POST', '/auth/magic-link/verify', { token });
      assert.equal(again.status, 400, 'the refused link is spent');
      assert.equal(again.body.code, 'email_token_invalid');

      assert.equal((await app.requestLink({ email: 'eve@acme.test' })).status, 202);
      assert.equal((await app.requestLink({ email: 'boss@acme.test' })).status, 202);
      await app.nextLink('boss@acme.test');
      const trail = await app.trail('acme');
      const reasons = trail
        .filter((entry) => entry.action.startsWith('magic_link.') && entry.outcome === 'failure')
        .map((entry) => `${entry.action}:${entry.details.reason}`);
      // The spent link's second use has no tenant: it is recorded in the platform's trail.
      assert.deepEqual(reasons, [
        'magic_link.used:sso_required',
        'magic_link.requested:sso_required',
      ]);
      const sessions = await app.db.kysely.selectFrom('sessions').select('id').execute();
      assert.equal(sessions.length, 0, 'no link signed anyone in');
    });
  });
}
