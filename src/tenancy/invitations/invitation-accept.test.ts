import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ACCEPT_PATH,
  type InvitationTestApp,
  invitationTestApp,
  suiteScope,
} from '../../../test/helpers/invitation-fixture.ts';
import { PASSWORD } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/** A page's answer: status, headers, HTML. */
interface Page {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly html: string;
}

/**
 * Issue 17, accepting an invitation by its email's link: the API for applications,
 * and Tessera's own page (GET shows, POST with its CSRF token accepts). Nothing is
 * used up by a refused request; a link works once.
 */
for (const engine of testEngines()) {
  describe(`accepting an invitation by its link (${engine})`, () => {
    // One app for the suite: each test works in tenants and addresses of its own.
    const scope = suiteScope();
    let app: InvitationTestApp;
    before(async () => {
      app = await invitationTestApp(scope, engine);
    });
    after(() => scope.close());

    const page = async (
      method: 'GET' | 'POST',
      url: string,
      form?: Record<string, string>,
      cookie?: string,
    ): Promise<Page> => {
      const response = await app.app.inject({
        method,
        url,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
      });
      return { status: response.statusCode, headers: response.headers, html: response.body };
    };
    const pending = async (tenant: string) =>
      ((await app.send('GET', '/invitations', await app.keyFor(tenant))).body.invitations as Json[])
        .length;

    it('asks an existing account to sign in, and accepts for that user only', async () => {
      const bea = await app.member('beta', 'bea@example.com', ['viewer']);
      const other = await app.member('beta', 'oli@example.com', ['viewer']);
      const admin = await app.keyFor('acme');
      assert.equal((await app.invite(admin, 'bea@example.com', 'developer')).status, 202);
      const token = await app.invitationToken('bea@example.com');

      for (const as of [null, other.token, admin]) {
        const refused = await app.acceptLink({ token, password: 'anything at all' }, as);
        assert.deepEqual(
          [refused.status, refused.body.code],
          [401, 'invitation_login_required'],
          JSON.stringify(as),
        );
      }
      assert.equal(await pending('acme'), 1, 'nothing used up');
      // Its page says to sign in, and offers no form.
      const shown = await page('GET', `${ACCEPT_PATH}?token=${token}`);
      assert.equal(shown.status, 200);
      assert.match(shown.html, /already has an account/);
      assert.doesNotMatch(shown.html, /<form/);

      const accepted = await app.acceptLink({ token }, bea.token);
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.equal(accepted.body.tenant_id, 'acme');
      const inAcme = { token: String(accepted.body.access_token) };
      assert.deepEqual((await app.send('GET', '/auth/me', inAcme)).body.roles, ['developer']);
      // The password is unchanged, and the session in beta goes on.
      await app.login('bea@example.com', PASSWORD, 'acme');
      assert.equal((await app.send('GET', '/auth/me', bea.token)).status, 200);

      const twice = await app.acceptLink({ token }, bea.token);
      assert.deepEqual([twice.status, twice.body.code], [400, 'email_token_invalid']);
      const trail = await app.audit('acme', 'invitation.');
      assert.deepEqual(
        trail.map((e) => [e.action, e.details.reason ?? null]),
        [
          ['invitation.accept_failed', 'invitation_login_required'],
          ['invitation.accept_failed', 'invitation_login_required'],
          ['invitation.accept_failed', 'invitation_login_required'],
          ['invitation.accepted', null],
        ],
      );
    });

    it('refuses a weak or missing password, an expired link and a role gone, using nothing up', async () => {
      const admin = await app.keyFor('cove');
      assert.equal((await app.invite(admin, 'cal@example.com', 'viewer')).status, 202);
      const token = await app.invitationToken('cal@example.com');
      const weak = await app.acceptLink({ token, password: 'short' });
      assert.deepEqual([weak.status, weak.body.code], [400, 'weak_password']);
      const missing = await app.acceptLink({ token });
      assert.deepEqual([missing.status, missing.body.code], [400, 'validation_failed']);
      assert.equal(await pending('cove'), 1);

      // A custom role deleted since the invitation: 400, and the link still works later.
      const role = await app.send('POST', '/roles', admin, {
        name: 'reader',
        permissions: ['events:read'],
      });
      assert.equal(role.status, 201);
      assert.equal((await app.invite(admin, 'rae@example.com', 'reader')).status, 202);
      const raeToken = await app.invitationToken('rae@example.com');
      assert.equal((await app.send('DELETE', '/roles/reader', admin)).status, 204);
      const gone = await app.acceptLink({ token: raeToken, password: PASSWORD });
      assert.deepEqual([gone.status, gone.body.code], [400, 'invalid_roles']);
      assert.equal(await pending('cove'), 2);
      await app.send('POST', '/roles', admin, { name: 'reader', permissions: ['events:read'] });
      assert.equal((await app.acceptLink({ token: raeToken, password: PASSWORD })).status, 200);

      // Expired: moved into the past in the database.
      await app.db.kysely
        .updateTable('invitations')
        .set({ expires_ms: Date.now() - 1 })
        .where('tenant_id', '=', 'cove')
        .execute();
      const expired = await app.acceptLink({ token, password: PASSWORD });
      assert.deepEqual([expired.status, expired.body.code], [400, 'email_token_invalid']);
      const expiredPage = await page('GET', `${ACCEPT_PATH}?token=${token}`);
      assert.equal(expiredPage.status, 400);
      assert.match(expiredPage.html, /role="alert"/);
    });

    it('lets exactly one of two concurrent uses of a link through', async () => {
      const admin = await app.keyFor('dune');
      await app.invite(admin, 'duo@example.com', 'viewer');
      const token = await app.invitationToken('duo@example.com');
      const answers = await Promise.all([
        app.acceptLink({ token, password: PASSWORD }),
        app.acceptLink({ token, password: `${PASSWORD}!` }),
      ]);
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [200, 400], JSON.stringify(answers.map((a) => a.body)));
      const members = await app.send('GET', '/users', admin);
      assert.equal((members.body.users as Json[]).length, 1);
    });

    it('accepts through its page: a form with a CSRF token, the policy, a welcome', async () => {
      const admin = await app.keyFor('page');
      await app.invite(admin, 'pam@example.com', 'viewer');
      const token = await app.invitationToken('pam@example.com');
      const url = `${ACCEPT_PATH}?token=${encodeURIComponent(token)}`;

      const shown = await page('GET', url);
      assert.equal(shown.status, 200);
      assert.match(String(shown.headers['content-type']), /^text\/html/);
      assert.match(String(shown.headers['content-security-policy']), /default-src 'none'/);
      assert.match(shown.html, /Join page/);
      assert.match(shown.html, /<label for="password">/);
      assert.match(shown.html, /id="password"[^>]*autocomplete="new-password"/);
      assert.match(shown.html, /<label for="name">/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.html)?.[1];
      const setCookie = [shown.headers['set-cookie']].flat().map(String);
      const cookie = setCookie.find((c) => c.startsWith('tessera_csrf='))?.split(';')[0];
      assert.ok(csrf && cookie, 'a CSRF token and its cookie');
      assert.equal(await pending('page'), 1, 'showing the page used nothing up');

      // Without the cookie, or without the form's token: refused, nothing used up.
      const noCookie = await page('POST', ACCEPT_PATH, { _csrf: csrf, token, password: PASSWORD });
      const noToken = await page('POST', ACCEPT_PATH, { token, password: PASSWORD }, cookie);
      for (const forged of [noCookie, noToken]) {
        assert.ok(forged.status >= 400 && forged.status < 500, String(forged.status));
      }
      const weak = await page(
        'POST',
        ACCEPT_PATH,
        { _csrf: csrf, token, password: 'short', name: 'Pam <b>' },
        cookie,
      );
      assert.equal(weak.status, 400);
      assert.match(weak.html, /role="alert"/);
      assert.match(weak.html, /aria-invalid="true"/);
      assert.match(weak.html, /value="Pam &lt;b&gt;"/, 'the name typed, escaped');
      assert.equal(await pending('page'), 1);

      const done = await page(
        'POST',
        ACCEPT_PATH,
        { _csrf: csrf, token, password: PASSWORD, name: 'Pam' },
        cookie,
      );
      assert.equal(done.status, 200, done.html);
      assert.match(done.html, /Welcome to page/);
      const pam = await app.login('pam@example.com', PASSWORD, 'page');
      const me = await app.send('GET', '/auth/me', pam);
      assert.deepEqual(me.body.roles, ['viewer']);
      assert.equal((me.body.user as Json).name, 'Pam');
      const again = await page('GET', url);
      assert.equal(again.status, 400);
      assert.doesNotMatch(again.html, /<form/);
      const unknown = await page('GET', `${ACCEPT_PATH}?token=tsi_nothing`);
      assert.equal(unknown.status, 400);
    });
  });
}
