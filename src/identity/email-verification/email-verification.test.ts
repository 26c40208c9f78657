import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  type EmailLinkApp,
  emailLinkApp,
  PASSWORD,
} from '../../../test/helpers/email-link-fixture.ts';
import { tokenFrom } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const PAGE = '/auth/email/verify';

for (const engine of testEngines()) {
  describe(`email verification (${engine})`, () => {
    let app: EmailLinkApp;
    before(async () => {
      app = await emailLinkApp(engine);
    });
    after(() => app.close());

    /** Signs `email` in, asks for a link, and returns the token of mail number `seen + 1`. */
    async function requestLink(email: string, access: string, seen = 0): Promise<string> {
      const asked = await app.api('POST', '/auth/email/verify/request', { as: access });
      assert.equal(asked.status, 202, asked.text);
      return tokenFrom(await app.nextMail(email, 'verify_email', seen), PAGE);
    }

    const verifiedOf = async (userId: string) =>
      (await app.test.services.identity.users.findById(userId))?.email_verified;

    it('verifies an address by the emailed link through the API, once, and says so in tokens', async () => {
      const userId = await app.userIn('ann@acme.test', ['acme']);
      const { access, refresh } = await app.login('ann@acme.test');
      assert.equal(decodeJwt(access).email_verified, false);
      const me = await app.api('GET', '/auth/me', { as: access });
      assert.equal((me.body.user as { email_verified: boolean }).email_verified, false);

      const asked = await app.api('POST', '/auth/email/verify/request', { as: access });
      assert.equal(asked.status, 202, asked.text);
      assert.equal(asked.body.email, 'ann@acme.test');
      assert.ok(Date.parse(String(asked.body.expires_at)) > Date.now());
      const mail = await app.nextMail('ann@acme.test', 'verify_email');
      assert.match(mail.subject, /Confirm your email address/);
      assert.match(mail.text, /valid for 1 day/);
      const token = tokenFrom(mail, PAGE);

      const verified = await app.api('POST', '/auth/email/verify', { body: { token } });
      assert.equal(verified.status, 200, verified.text);
      assert.deepEqual(verified.body, {
        user_id: userId,
        email: 'ann@acme.test',
        email_verified: true,
      });
      const again = await app.api('POST', '/auth/email/verify', { body: { token } });
      assert.equal(again.status, 400);
      assert.equal(again.body.code, 'email_token_invalid');

      const meNow = await app.api('GET', '/auth/me', { as: access });
      assert.equal((meNow.body.user as { email_verified: boolean }).email_verified, true);
      const refreshed = await app.api('POST', '/auth/refresh', {
        body: { refresh_token: refresh },
      });
      assert.equal(decodeJwt(String(refreshed.body.access_token)).email_verified, true);
      const fresh = await app.login('ann@acme.test');
      assert.equal(decodeJwt(fresh.access).email_verified, true);

      const twice = await app.api('POST', '/auth/email/verify/request', { as: fresh.access });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 'email_already_verified');

      const acme = await app.trail('acme');
      const requested = acme.find((e) => e.action === 'email.verification_requested');
      assert.equal(requested?.actor, userId);
      assert.equal(requested?.target, `user:${userId}`);
      const done = acme.find((e) => e.action === 'email.verified');
      assert.equal(done?.actor, userId);
      assert.deepEqual(done?.details, { email: 'ann@acme.test' });
      const failed = await app.trail('system', 'email.verification_failed');
      assert.equal(failed.at(-1)?.outcome, 'failure');
      assert.equal(failed.at(-1)?.actor_type, 'anonymous');
      const everything = JSON.stringify([acme, failed]);
      assert.ok(!everything.includes(token), 'the trail never holds the token');
      assert.ok(!everything.includes(PASSWORD));
    });

    it('verifies through the page: opening it changes nothing, its form needs the CSRF token', async () => {
      const userId = await app.userIn('bob@acme.test', ['acme']);
      const token = await requestLink('bob@acme.test', (await app.login('bob@acme.test')).access);

      const page = await app.openPage(`${PAGE}?token=${encodeURIComponent(token)}`);
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
      assert.match(page.html, /<h1>Confirm your email address<\/h1>/);
      assert.match(page.html, /bob@acme\.test/);
      assert.match(page.html, /<button type="submit">Confirm my address<\/button>/);
      // Relative: it posts back to this page's path, under any prefix of server.public_url.
      assert.match(page.html, /<form method="post" action="verify">/);
      assert.ok(page.csrf && page.cookie);
      // Opening it twice (a mail scanner, then the person) still changes nothing.
      assert.equal((await app.openPage(`${PAGE}?token=${encodeURIComponent(token)}`)).status, 200);
      assert.equal(await verifiedOf(userId), false);

      const forged = await app.submit(PAGE, { token, _csrf: page.csrf });
      assert.equal(forged.status, 403);
      assert.match(forged.html, /This form has expired/);
      const wrong = await app.submit(PAGE, { token, _csrf: 'not-the-token' }, page.cookie);
      assert.equal(wrong.status, 403);
      assert.equal(await verifiedOf(userId), false);

      const done = await app.submit(PAGE, { token, _csrf: page.csrf }, page.cookie);
      assert.equal(done.status, 200, done.html);
      assert.match(done.html, /<h1>Email address confirmed<\/h1>/);
      assert.equal(await verifiedOf(userId), true);

      const reused = await app.submit(PAGE, { token, _csrf: page.csrf }, page.cookie);
      assert.equal(reused.status, 400);
      assert.match(reused.html, /This link does not work/);
      for (const url of [
        `${PAGE}?token=${encodeURIComponent(token)}`,
        `${PAGE}?token=tsv_nope`,
        PAGE,
      ]) {
        const bad = await app.openPage(url);
        assert.equal(bad.status, 400, url);
        assert.match(bad.html, /This link does not work/);
        assert.equal(bad.csrf, undefined);
      }
    });

    it('refuses an expired link, a replaced one, and one sent to an address the account no longer has', async () => {
      const userId = await app.userIn('cat@acme.test', ['acme']);
      const { access } = await app.login('cat@acme.test');
      const first = await requestLink('cat@acme.test', access);
      // Expired: the row's expiry put in the past, as the clock would.
      await app.test.db.kysely
        .updateTable('email_tokens')
        .set({ expires_ms: Date.now() - 1 })
        .where('user_id', '=', userId)
        .execute();
      const expired = await app.api('POST', '/auth/email/verify', { body: { token: first } });
      assert.equal(expired.body.code, 'email_token_invalid');

      const second = await requestLink('cat@acme.test', access, 1);
      const third = await requestLink('cat@acme.test', access, 2);
      const replaced = await app.api('POST', '/auth/email/verify', { body: { token: second } });
      assert.equal(replaced.body.code, 'email_token_invalid');

      await app.test.db.kysely
        .updateTable('users')
        .set({ email: 'cat@elsewhere.test' })
        .where('id', '=', userId)
        .execute();
      const page = await app.openPage(`${PAGE}?token=${encodeURIComponent(third)}`);
      assert.equal(page.status, 400);
      const moved = await app.api('POST', '/auth/email/verify', { body: { token: third } });
      assert.equal(moved.status, 400);
      assert.equal(moved.body.code, 'email_token_invalid');
      assert.equal(await verifiedOf(userId), false);
      const reasons = (await app.trail('system', 'email.verification_failed')).map(
        (e) => e.details.reason,
      );
      assert.ok(reasons.includes('expired') && reasons.includes('email_changed'), `${reasons}`);
    });

    it('refuses API keys, and bodies that are no token', async () => {
      const key = await app.platformKey();
      const byKey = await app.api('POST', '/auth/email/verify/request', { as: { key } });
      assert.equal(byKey.status, 400);
      assert.equal(byKey.body.code, 'bad_request');
      const anonymous = await app.api('POST', '/auth/email/verify/request');
      assert.equal(anonymous.status, 401);
      for (const body of [{}, { token: '' }, { token: 7 }, { token: 'x'.repeat(513) }]) {
        const reply = await app.api('POST', '/auth/email/verify', { body });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.code, 'validation_failed');
      }
    });

    it('refuses a login to a tenant requiring a verified address only after the right password', async () => {
      const userId = await app.userIn('dan@strict.test', ['strict', 'lax']);
      const key = await app.platformKey();
      const set = await app.api('PATCH', '/tenants/strict/sign-in-settings', {
        as: { key },
        body: { require_verified_email: true },
      });
      assert.equal(set.status, 200, set.text);
      const attempt = (password: string) =>
        app.api('POST', '/auth/login', {
          body: { email: 'dan@strict.test', password, tenant_id: 'strict' },
        });
      const wrong = await attempt('not the password');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.code, 'invalid_credentials');
      const unverified = await attempt(PASSWORD);
      assert.equal(unverified.status, 403);
      assert.equal(unverified.body.code, 'email_not_verified');
      const failures = await app.trail('strict', 'login.failed');
      assert.deepEqual(
        failures.map((e) => [e.target, e.details.reason]),
        [
          [`user:${userId}`, 'invalid_credentials'],
          [`user:${userId}`, 'email_not_verified'],
        ],
      );

      // Verified through a session in the tenant that does not require it.
      const lax = await app.login('dan@strict.test', PASSWORD, 'lax');
      const token = await requestLink('dan@strict.test', lax.access);
      assert.equal((await app.api('POST', '/auth/email/verify', { body: { token } })).status, 200);
      const allowed = await attempt(PASSWORD);
      assert.equal(allowed.status, 200, allowed.text);
      assert.equal(decodeJwt(String(allowed.body.access_token)).email_verified, true);
    });
  });
}
