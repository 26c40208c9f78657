import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import {
  type MagicLinkTestApp,
  magicLinkTestApp,
  PASSWORD,
} from '../../../test/helpers/magic-link-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AnyKysely } from '../../storage/database.ts';

const REQUESTED = {
  message:
    'If this address belongs to an account that may sign in here, a sign-in link is on its way.',
};

function assertProblem(
  reply: { status: number; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.code, code);
}

for (const engine of testEngines()) {
  describe(`magic links through the API (${engine})`, () => {
    let test: MagicLinkTestApp;
    before(async () => {
      test = await magicLinkTestApp(engine);
    });
    after(() => test?.close());

    const verify = (token: string) => test.send('POST', '/auth/magic-link/verify', { token });
    const me = (token: string) => test.send('GET', '/auth/me', undefined, token);

    it('emails a link whose token signs in once, verifies the address and is audited', async () => {
      const userId = await test.member('ada@acme.test', ['acme']);
      const requested = await test.requestLink({ email: '  Ada@ACME.test ' });
      assert.equal(requested.status, 202);
      assert.deepEqual(requested.body, REQUESTED);
      const mail = await test.sink.waitFor('ada@acme.test', 'magic_link');
      assert.match(mail.text, /https:\/\/tessera\.test\/auth\/magic-link\?token=tsm_/);
      assert.match(mail.text, /sign in to acme \(valid for 15 minutes, once\)/);
      const token = await test.nextLink('ada@acme.test');

      const signedIn = await verify(token);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.token_type, 'Bearer');
      assert.equal(signedIn.body.tenant_id, 'acme');
      assert.equal(signedIn.body.expires_in, test.config.auth.access_token_ttl_seconds);
      assert.match(String(signedIn.body.refresh_token), /^tsr_/);
      const who = await me(String(signedIn.body.access_token));
      assert.equal(who.status, 200);
      assert.equal(who.body.tenant_id, 'acme');
      assert.deepEqual(who.body.roles, ['admin']);
      const user = who.body.user as Record<string, unknown>;
      assert.equal(user.id, userId);
      assert.equal(user.email_verified, true);
      // The refresh token of the new session works like a login's.
      const refreshed = await test.send('POST', '/auth/refresh', {
        refresh_token: signedIn.body.refresh_token,
      });
      assert.equal(refreshed.status, 200);

      assertProblem(await verify(token), 400, 'email_token_invalid');

      const trail = await test.trail('acme');
      const requestedEntry = trail.find((e) => e.action === 'magic_link.requested');
      assert.deepEqual(requestedEntry, {
        action: 'magic_link.requested',
        target: `user:${userId}`,
        outcome: 'success',
        actor_type: 'anonymous',
        details: { email: 'ada@acme.test', mail_sent: true },
      });
      const used = trail.filter((e) => e.action === 'magic_link.used');
      assert.equal(used.length, 1);
      assert.equal(used[0]?.outcome, 'success');
      assert.equal(used[0]?.actor_type, 'user');
      assert.match(String(used[0]?.target), /^session:/);
      assert.deepEqual(used[0]?.details, {
        user_id: userId,
        email: 'ada@acme.test',
        email_verified_now: true,
      });
      // The reuse is recorded where a token nobody holds any more can be: the platform's trail.
      const reuse = (await test.trail('system')).filter((e) => e.action === 'magic_link.used');
      assert.deepEqual(
        reuse.map((e) => [e.outcome, e.details.reason]),
        [['failure', 'unknown']],
      );
      assert.doesNotMatch(JSON.stringify(trail), /tsm_/);
    });

    it('answers any address alike and mails only a member it may sign in', async () => {
      await test.member('bob@acme.test', ['acme']);
      await test.member('cy@multi.test', ['initech', 'umbrella']);
      await test.member('eve@globex.test', ['globex']);
      const refused: Record<string, string>[] = [
        { email: 'nobody@acme.test' },
        // A tenant the account is no member of, live or not.
        { email: 'bob@acme.test', tenant_id: 'globex' },
        { email: 'bob@acme.test', tenant_id: 'no-such-tenant' },
        // Several tenants and none named.
        { email: 'cy@multi.test' },
      ];
      for (const body of refused) {
        const reply = await test.requestLink(body);
        assert.equal(reply.status, 202, JSON.stringify(body));
        assert.deepEqual(reply.body, REQUESTED);
      }
      // The sender ran past every one of them: a link requested after them arrives.
      await test.requestLink({ email: 'cy@multi.test', tenant_id: 'umbrella' });
      await test.nextLink('cy@multi.test');
      assert.equal(test.sink.to('nobody@acme.test').length, 0);
      assert.equal(test.sink.to('bob@acme.test').length, 0);
      assert.equal(test.sink.to('cy@multi.test').length, 1);

      // globex's trail hears of the request naming it, but not whether the account exists.
      const globex = (await test.trail('globex')).filter(
        (e) => e.action === 'magic_link.requested',
      );
      assert.deepEqual(globex, [
        {
          action: 'magic_link.requested',
          target: null,
          outcome: 'failure',
          actor_type: 'anonymous',
          details: { email: 'b***@acme.test', mail_sent: false, reason: 'not_a_member' },
        },
      ]);
      const system = (await test.trail('system')).filter(
        (e) => e.action === 'magic_link.requested',
      );
      assert.deepEqual(
        system.map((e) => [e.details.email, e.details.reason]),
        [['n***@acme.test', 'unknown_email']],
      );
      const reasons = async (tenant: string, email: string) =>
        (await test.trail(tenant))
          .filter((e) => e.action === 'magic_link.requested' && e.details.email === email)
          .map((e) => e.details.reason ?? 'sent');
      // The account's own tenant knows: asked for a tenant that does not exist.
      assert.deepEqual(await reasons('acme', 'bob@acme.test'), ['not_a_member']);
      assert.deepEqual(await reasons('initech', 'cy@multi.test'), ['tenant_required']);
      assert.deepEqual(await reasons('umbrella', 'cy@multi.test'), ['sent']);
    });

    it('binds the token to the tenant it was asked for', async () => {
      await test.member('dee@two.test', ['hooli', 'pied-piper']);
      await test.requestLink({ email: 'dee@two.test', tenant_id: 'pied-piper' });
      const signedIn = await verify(await test.nextLink('dee@two.test'));
      assert.equal(signedIn.status, 200);
      assert.equal(signedIn.body.tenant_id, 'pied-piper');
      assert.equal((await me(String(signedIn.body.access_token))).body.tenant_id, 'pied-piper');
    });

    it('refuses an expired token, and one for an address the account no longer has', async () => {
      const userId = await test.member('fay@acme.test', ['acme']);
      await test.requestLink({ email: 'fay@acme.test' });
      const expired = await test.nextLink('fay@acme.test');
      // Ran out: its row's expiry moved into the past (no clock to wait for).
      await (test.db.kysely as AnyKysely)
        .updateTable('email_tokens')
        .set({ expires_ms: 1 })
        .where('user_id', '=', userId)
        .execute();
      assertProblem(await verify(expired), 400, 'email_token_invalid');

      await test.requestLink({ email: 'fay@acme.test' });
      const stale = await test.nextLink('fay@acme.test');
      await (test.db.kysely as AnyKysely)
        .updateTable('users')
        .set({ email: 'fay@elsewhere.test' })
        .where('id', '=', userId)
        .execute();
      assertProblem(await verify(stale), 400, 'email_token_invalid');
      const reasons = (await test.trail('acme'))
        .filter((e) => e.action === 'magic_link.used')
        .map((e) => e.details.reason);
      assert.ok(reasons.includes('email_changed'), JSON.stringify(reasons));
      // Both were spent by their refused use.
      const left = await (test.db.kysely as AnyKysely)
        .selectFrom('email_tokens')
        .select('digest')
        .where('user_id', '=', userId)
        .execute();
      assert.deepEqual(left, []);
    });

    it('counts a refused token against the client IP like a failed login', async () => {
      const failures = async () =>
        Number(
          (
            await (test.db.kysely as AnyKysely)
              .selectFrom('ip_login_failures')
              .select('failures')
              .executeTakeFirst()
          )?.failures ?? 0,
        );
      const before = await failures();
      assertProblem(await verify('tsm_not-a-token'), 400, 'email_token_invalid');
      assert.equal(await failures(), before + 1);
    });

    it('refuses a redirect_uri the tenant does not allow, and mails nothing', async () => {
      await test.member('gil@wonka.test', ['wonka']);
      await test.allowRedirects('wonka', ['https://app.wonka.test/signed-in']);
      assertProblem(
        await test.requestLink({
          email: 'gil@wonka.test',
          tenant_id: 'wonka',
          redirect_uri: 'https://evil.test/steal',
        }),
        400,
        'redirect_uri_not_allowed',
      );
      // Allowed, but unprovable without the tenant: refused alike.
      assertProblem(
        await test.requestLink({
          email: 'gil@wonka.test',
          redirect_uri: 'https://app.wonka.test/signed-in',
        }),
        400,
        'redirect_uri_not_allowed',
      );
      const allowed = await test.requestLink({
        email: 'gil@wonka.test',
        tenant_id: 'wonka',
        redirect_uri: 'https://app.wonka.test/signed-in',
      });
      assert.equal(allowed.status, 202);
      await test.nextLink('gil@wonka.test');
      assert.equal(test.sink.to('gil@wonka.test').length, 1);
      const refused = (await test.trail('wonka')).filter(
        (e) => e.action === 'magic_link.requested' && e.outcome === 'failure',
      );
      assert.deepEqual(
        refused.map((e) => [e.details.reason, e.details.redirect_uri]),
        [['redirect_uri_not_allowed', 'https://evil.test/steal']],
      );
    });

    it('mails a locked account nothing, and its earlier link does not sign in', async () => {
      await test.member('hal@acme.test', ['acme']);
      await test.requestLink({ email: 'hal@acme.test' });
      const earlier = await test.nextLink('hal@acme.test');
      for (let i = 0; i < 2; i++) {
        const wrong = await test.send('POST', '/auth/login', {
          email: 'hal@acme.test',
          password: `${PASSWORD}!`,
        });
        assert.equal(wrong.status, 401);
      }
      assert.equal((await test.requestLink({ email: 'hal@acme.test' })).status, 202);
      // Proves the sender ran past the locked account's request.
      await test.member('ivy@acme.test', ['acme']);
      await test.requestLink({ email: 'ivy@acme.test' });
      await test.nextLink('ivy@acme.test');
      assert.equal(test.sink.to('hal@acme.test').length, 1);

      assertProblem(await verify(earlier), 401, 'invalid_credentials');
      const halEntries = (await test.trail('acme')).filter(
        (e) => e.details.email === 'hal@acme.test' && e.action.startsWith('magic_link.'),
      );
      assert.deepEqual(
        halEntries.map((e) => [e.action, e.outcome, e.details.reason ?? null]),
        [
          ['magic_link.requested', 'success', null],
          ['magic_link.requested', 'failure', 'account_locked'],
          ['magic_link.used', 'failure', 'account_locked'],
        ],
      );
      const metrics = (await test.app.inject({ url: '/metrics' })).body;
      assert.match(metrics, /^auth_attempts_total\{method="magic_link",outcome="locked"\} 1$/m);
      assert.match(metrics, /^auth_attempts_total\{method="magic_link",outcome="success"\} [1-9]/m);
    });

    it('refuses a link once the membership is deactivated, as a login would', async () => {
      const userId = await test.member('jo@acme.test', ['acme']);
      await test.requestLink({ email: 'jo@acme.test' });
      const token = await test.nextLink('jo@acme.test');
      await (test.db.kysely as AnyKysely)
        .updateTable('memberships')
        .set({ status: 'deactivated' })
        .where('user_id', '=', userId)
        .execute();
      assertProblem(await verify(token), 403, 'membership_deactivated');
    });
  });

  describe(`magic links without email (${engine})`, () => {
    it('answers 503 email_not_configured, and limits requests per address', async (t) => {
      const test = await buildTestApp({}, engine, { actAs: false });
      t.after(() => test.close());
      const ask = () =>
        test.app.inject({
          method: 'POST',
          url: '/api/v1/auth/magic-link',
          payload: { email: 'ada@acme.test' },
        });
      const first = await ask();
      assert.equal(first.statusCode, 503);
      assert.equal(first.json().code, 'email_not_configured');
      // The per-address bucket (rate_limits.email_burst) applies to this route.
      for (let i = 1; i < test.config.rate_limits.email_burst; i++) await ask();
      assert.equal((await ask()).statusCode, 429);
    });
  });
}
