import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type EmailLinkApp,
  emailLinkApp,
  PASSWORD,
} from '../../../test/helpers/email-link-fixture.ts';
import { tokenFrom } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const PAGE = '/auth/password/reset';
const NEW_PASSWORD = 'a brand new passphrase';

for (const engine of testEngines()) {
  describe(`password reset page, and the change notice (${engine})`, () => {
    let app: EmailLinkApp;
    before(async () => {
      app = await emailLinkApp(engine);
    });
    after(() => app.close());

    /** Asks for a reset of `email` and returns the token of its first mail. */
    async function resetLink(email: string): Promise<string> {
      const asked = await app.api('POST', '/auth/password/forgot', { body: { email } });
      assert.equal(asked.status, 202);
      return tokenFrom(await app.nextMail(email, 'reset_password'), PAGE);
    }
    const loginStatus = async (email: string, password: string) =>
      (await app.api('POST', '/auth/login', { body: { email, password } })).status;

    it('resets through the page: a refused password shows the form again, the link still works', async () => {
      await app.userIn('jo@acme.test', ['acme']);
      const token = await resetLink('jo@acme.test');
      const url = `${PAGE}?token=${encodeURIComponent(token)}`;
      const page = await app.openPage(url);
      assert.equal(page.status, 200);
      assert.match(page.html, /<h1>Choose a new password<\/h1>/);
      assert.match(page.html, /<label for="new_password">New password<\/label>/);
      assert.match(page.html, /<form method="post" action="reset">/);
      assert.match(page.html, /id="new_password" name="new_password" autocomplete="new-password"/);
      assert.ok(page.csrf && page.cookie);

      const weak = await app.submit(
        PAGE,
        { token, _csrf: page.csrf, new_password: 'short' },
        page.cookie,
      );
      assert.equal(weak.status, 400);
      assert.match(weak.html, /role="alert"/);
      assert.match(weak.html, /must be at least 8 characters long/);
      assert.match(weak.html, /aria-invalid="true"/);
      assert.ok(weak.csrf);
      const forged = await app.submit(PAGE, {
        token,
        new_password: NEW_PASSWORD,
        _csrf: page.csrf,
      });
      assert.equal(forged.status, 403);
      assert.equal(await loginStatus('jo@acme.test', PASSWORD), 200);

      const done = await app.submit(
        PAGE,
        { token, _csrf: weak.csrf, new_password: NEW_PASSWORD },
        page.cookie,
      );
      assert.equal(done.status, 200, done.html);
      assert.match(done.html, /<h1>Your password was changed<\/h1>/);
      assert.equal(await loginStatus('jo@acme.test', NEW_PASSWORD), 200);
      const reused = await app.submit(
        PAGE,
        { token, _csrf: weak.csrf, new_password: `${NEW_PASSWORD}!` },
        page.cookie,
      );
      assert.equal(reused.status, 400);
      assert.match(reused.html, /This link does not work/);
      assert.equal((await app.openPage(url)).status, 400);
    });

    it('sends the password_changed notice after a change by the signed-in user', async () => {
      await app.userIn('kim@acme.test', ['acme']);
      const { access } = await app.login('kim@acme.test');
      const changed = await app.api('POST', '/auth/password', {
        as: access,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      });
      assert.equal(changed.status, 204, changed.text);
      const notice = await app.nextMail('kim@acme.test', 'password_changed');
      assert.match(notice.text, /kim@acme\.test was changed at \S+ from 127\.0\.0\.1/);
    });
  });
}
