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

const PAGE = '/auth/password/reset';
const NEW_PASSWORD = 'a brand new passphrase';

for (const engine of testEngines()) {
  describe(`password reset by email (${engine})`, () => {
    let app: EmailLinkApp;
    before(async () => {
      app = await emailLinkApp(engine);
    });
    after(() => app.close());

    const forgot = (email: string, tenantId?: string) =>
      app.api('POST', '/auth/password/forgot', {
        body: { email, ...(tenantId === undefined ? {} : { tenant_id: tenantId }) },
      });
    const reset = (token: string, newPassword = NEW_PASSWORD) =>
      app.api('POST', '/auth/password/reset', { body: { token, new_password: newPassword } });
    /** Asks for a reset of `email` and returns the token of mail number `seen + 1`. */
    async function resetLink(email: string, seen = 0): Promise<string> {
      assert.equal((await forgot(email)).status, 202);
      return tokenFrom(await app.nextMail(email, 'reset_password', seen), PAGE);
    }
    const loginStatus = async (email: string, password: string) =>
      (await app.api('POST', '/auth/login', { body: { email, password } })).status;

    it('resets by the emailed link, once: sessions end, other links die, the address is verified', async () => {
      const userId = await app.userIn('eve@acme.test', ['acme']);
      const first = await app.login('eve@acme.test');
      const second = await app.login('eve@acme.test');
      const asked = await app.api('POST', '/auth/email/verify/request', { as: first.access });
      assert.equal(asked.status, 202);
      const verifyToken = tokenFrom(
        await app.nextMail('eve@acme.test', 'verify_email'),
        '/auth/email/verify',
      );

      const accepted = await forgot('eve@acme.test');
      assert.equal(accepted.status, 202);
      const mail = await app.nextMail('eve@acme.test', 'reset_password');
      assert.match(mail.subject, /Reset your Tessera password/);
      assert.match(mail.text, /valid for 30 minutes, once/);
      const token = tokenFrom(mail, PAGE);

      // A password the policy refuses does not use the link up.
      const weak = await reset(token, 'short');
      assert.equal(weak.status, 400);
      assert.equal(weak.body.code, 'weak_password');
      const done = await reset(token);
      assert.equal(done.status, 204, done.text);
      const again = await reset(token, `${NEW_PASSWORD}!`);
      assert.equal(again.status, 400);
      assert.equal(again.body.code, 'email_token_invalid');

      for (const { refresh } of [first, second]) {
        const refused = await app.api('POST', '/auth/refresh', {
          body: { refresh_token: refresh },
        });
        assert.equal(refused.status, 401);
        assert.equal(refused.body.code, 'session_revoked');
      }
      assert.equal((await app.api('GET', '/auth/me', { as: first.access })).status, 401);
      assert.equal(await loginStatus('eve@acme.test', PASSWORD), 401);
      const fresh = await app.login('eve@acme.test', NEW_PASSWORD);
      assert.equal(decodeJwt(fresh.access).email_verified, true);
      const voided = await app.api('POST', '/auth/email/verify', { body: { token: verifyToken } });
      assert.equal(voided.body.code, 'email_token_invalid');

      const notice = await app.nextMail('eve@acme.test', 'password_changed');
      assert.match(notice.subject, /password was changed/);
      const acme = await app.trail('acme');
      const requested = acme.find((e) => e.action === 'password.reset_requested');
      assert.deepEqual(requested?.details, { email: 'eve@acme.test', tenant_id: null, sent: true });
      const changed = acme.find((e) => e.action === 'password.reset');
      assert.equal(changed?.actor, userId);
      assert.equal(changed?.target, `user:${userId}`);
      const failures = await app.trail('system', 'password.reset_failed');
      assert.ok(failures.some((e) => e.details.reason === 'weak_password'));
      const text = JSON.stringify([acme, failures]);
      assert.ok(!text.includes(token) && !text.includes(NEW_PASSWORD), 'no token or password');
    });

    it('lets exactly one of two concurrent resets with one link through', async () => {
      await app.userIn('hal@acme.test', ['acme']);
      const token = await resetLink('hal@acme.test');
      const replies = await Promise.all([
        reset(token, 'first new password'),
        reset(token, 'second new password'),
      ]);
      assert.deepEqual(replies.map((r) => r.status).sort(), [204, 400]);
      assert.equal(replies.find((r) => r.status === 400)?.body.code, 'email_token_invalid');
      const winner = replies[0]?.status === 204 ? 'first new password' : 'second new password';
      const loser = winner === 'first new password' ? 'second new password' : 'first new password';
      assert.equal(await loginStatus('hal@acme.test', winner), 200);
      assert.equal(await loginStatus('hal@acme.test', loser), 401);
    });

    it('refuses an expired link; a reset lifts the lock of an account', async () => {
      const ivy = await app.userIn('ivy@acme.test', ['acme']);
      const expired = await resetLink('ivy@acme.test');
      // Expired: the row's expiry put in the past, as the clock would.
      await app.test.db.kysely
        .updateTable('email_tokens')
        .set({ expires_ms: Date.now() - 1 })
        .where('user_id', '=', ivy)
        .execute();
      assert.equal((await reset(expired)).body.code, 'email_token_invalid');
      assert.equal(await loginStatus('ivy@acme.test', PASSWORD), 200);

      const maxFailures = app.test.config.lockout.max_failures;
      for (let i = 0; i < maxFailures; i++) {
        assert.equal(await loginStatus('ivy@acme.test', 'not the password'), 401);
      }
      assert.equal(await loginStatus('ivy@acme.test', PASSWORD), 401, 'locked');
      const token = await resetLink('ivy@acme.test', 1);
      assert.equal((await reset(token)).status, 204);
      assert.equal(await loginStatus('ivy@acme.test', NEW_PASSWORD), 200);
      const unlocked = await app.trail('acme', 'account.unlocked');
      assert.deepEqual(
        unlocked.map((e) => [e.target, e.actor, e.details.reason]),
        [[`user:${ivy}`, ivy, 'password_reset']],
      );
    });
  });
}
