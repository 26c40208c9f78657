import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { decodeJwt } from 'jose';
import {
  type LockoutTestApp,
  lockoutTestApp,
  PASSWORD,
} from '../../../../test/helpers/lockout-fixture.ts';
import type { Credential, Reply } from '../../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import { totpCode } from '../../../../test/helpers/totp.ts';
import type { Engine } from '../../../storage/database.ts';

/** A member of `acme` with TOTP confirmed: its secret and recovery codes. */
interface Enrolled {
  readonly id: string;
  readonly secret: string;
  readonly recoveryCodes: readonly string[];
}

async function fixture(t: TestContext, engine: Engine) {
  const test = await lockoutTestApp(t, engine);
  const login = (email: string, password = PASSWORD): Promise<Reply> =>
    test.send('POST', '/auth/login', null, { email, password, tenant_id: 'acme' });
  const verify = (body: Record<string, unknown>) =>
    test.send('POST', '/auth/mfa/verify', null, body);

  /** Enrolls TOTP through the API, confirming with the previous step's code (the next two stay fresh). */
  async function enrolled(email: string, role = 'viewer'): Promise<Enrolled> {
    const id = await test.member(email, 'acme', role);
    const session = await tokenOf(login(email));
    const started = await test.send('POST', '/auth/mfa/totp', session);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const secret = started.body.secret as string;
    const confirmed = await test.send('POST', '/auth/mfa/totp/confirm', session, {
      code: totpCode(secret, Date.now(), -1),
    });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    return { id, secret, recoveryCodes: confirmed.body.recovery_codes as string[] };
  }

  return { test, login, verify, enrolled };
}

async function tokenOf(reply: Promise<Reply>): Promise<Credential> {
  const answered = await reply;
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  assert.equal(typeof answered.body.access_token, 'string', JSON.stringify(answered.body));
  return { token: answered.body.access_token as string };
}

/** The trail of `acme`: each entry's action, outcome and details. */
async function trail(test: LockoutTestApp) {
  const reply = await test.send('GET', '/audit?order=asc&limit=200', await test.keyFor('acme'));
  return (reply.body.events as { payload: Record<string, unknown> }[]).map((item) => item.payload);
}

for (const engine of testEngines()) {
  describe(`sign-in with a second factor (${engine})`, () => {
    it('answers a password login of an account with TOTP with an mfa_token, and the code completes it', async (t) => {
      const { test, login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');

      const first = await login('ada@example.com');
      assert.equal(first.status, 200);
      assert.equal(first.body.mfa_required, true);
      assert.deepEqual(first.body.methods, ['totp', 'recovery_code']);
      assert.equal(first.body.access_token, undefined, 'no tokens before the second factor');
      assert.equal(first.body.refresh_token, undefined);
      assert.match(first.body.mfa_token as string, /^tsf_/);

      const done = await verify({
        mfa_token: first.body.mfa_token,
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 0),
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.tenant_id, 'acme');
      const claims = decodeJwt(done.body.access_token as string);
      assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(claims.sub, ada.id);
      assert.equal(typeof claims.auth_time, 'number');
      const me = await test.send('GET', '/auth/me', { token: done.body.access_token as string });
      assert.equal(me.status, 200);

      // The token is single-use: the same answer again makes no second session.
      const again = await verify({
        mfa_token: first.body.mfa_token,
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 1),
      });
      assert.equal(again.status, 401);
      assert.equal(again.body.code, 'mfa_token_invalid');

      // The session's refresh keeps what it proved.
      const refreshed = await test.send('POST', '/auth/refresh', null, {
        refresh_token: done.body.refresh_token,
      });
      assert.equal(refreshed.status, 200);
      assert.deepEqual(decodeJwt(refreshed.body.access_token as string).amr, ['pwd', 'otp', 'mfa']);

      const entries = await trail(test);
      assert.ok(entries.some((e) => e.action === 'login.second_factor_required'));
      const succeeded = entries.filter((e) => e.action === 'login.succeeded');
      assert.ok(
        succeeded.some((e) => (e.details as Record<string, unknown>).method === 'totp'),
        JSON.stringify(succeeded),
      );
      const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^auth_attempts_total\{method="totp",outcome="success"\} 1$/m);
    });

    it('keeps the mfa_token through a wrong code, counts wrong codes toward the lockout, and locks', async (t) => {
      const { test, login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');
      const first = await login('ada@example.com');
      const wrong = (code: string) =>
        verify({ mfa_token: first.body.mfa_token, method: 'totp', code });

      const miss = await wrong('000000' === totpCode(ada.secret) ? '111111' : '000000');
      assert.equal(miss.status, 400);
      assert.equal(miss.body.code, 'mfa_code_invalid');
      const malformed = await verify({ mfa_token: first.body.mfa_token, method: 'totp' });
      assert.equal(malformed.status, 400, 'a proof without a code is malformed');
      // Still usable after a miss.
      const ok = await verify({
        mfa_token: first.body.mfa_token,
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 0),
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));

      // max_failures = 3 (TEST_LOCKOUT): three wrong codes lock the account.
      const second = await login('ada@example.com');
      for (const code of ['000001', '000002', '000003']) {
        const reply = await verify({ mfa_token: second.body.mfa_token, method: 'totp', code });
        assert.equal(reply.status, 400);
      }
      const locked = await verify({
        mfa_token: second.body.mfa_token,
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 1),
      });
      assert.equal(locked.status, 400, 'a locked account is not let in, even with the right code');
      assert.equal(locked.body.code, 'mfa_code_invalid');
      assert.equal((await login('ada@example.com')).status, 401, 'nor by its password');

      const reasons = (await trail(test))
        .filter((e) => e.action === 'login.failed')
        .map((e) => (e.details as Record<string, unknown>).reason);
      assert.ok(reasons.includes('mfa_wrong_code'), JSON.stringify(reasons));
      assert.ok(reasons.includes('mfa_account_locked'), JSON.stringify(reasons));
      const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^auth_attempts_total\{method="totp",outcome="failure"\} [4-9]$/m);
      assert.match(metrics.body, /^auth_attempts_total\{method="totp",outcome="locked"\} 1$/m);
    });

    it('refuses an expired, unknown or malformed mfa_token, and a method the account lacks', async (t) => {
      const { test, login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');
      const first = await login('ada@example.com');

      const webauthn = await verify({
        mfa_token: first.body.mfa_token,
        method: 'webauthn',
        response: { id: 'x' },
      });
      assert.equal(webauthn.status, 400);
      assert.equal(webauthn.body.code, 'mfa_method_unavailable');
      const unknownMethod = await verify({
        mfa_token: first.body.mfa_token,
        method: 'sms',
        code: '1',
      });
      assert.equal(unknownMethod.status, 400);

      for (const token of ['tsf_unknown', 'not-a-token']) {
        const reply = await verify({ mfa_token: token, method: 'totp', code: '123456' });
        assert.equal(reply.status, 401);
        assert.equal(reply.body.code, 'mfa_token_invalid');
      }
      test.advance(test.config.mfa.token_ttl_seconds + 1);
      const expired = await verify({
        mfa_token: first.body.mfa_token,
        method: 'totp',
        code: totpCode(ada.secret),
      });
      assert.equal(expired.status, 401);
      assert.equal(expired.body.code, 'mfa_token_invalid');
    });

    it('signs in with a recovery code once, and two simultaneous verifications make one session', async (t) => {
      const { login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');
      const code = ada.recoveryCodes[0] as string;

      const first = await login('ada@example.com');
      const used = await verify({ mfa_token: first.body.mfa_token, method: 'recovery_code', code });
      assert.equal(used.status, 200, JSON.stringify(used.body));
      assert.deepEqual(decodeJwt(used.body.access_token as string).amr, ['pwd', 'otp', 'mfa']);

      const second = await login('ada@example.com');
      const reused = await verify({
        mfa_token: second.body.mfa_token,
        method: 'recovery_code',
        code,
      });
      assert.equal(reused.status, 400);
      assert.equal(reused.body.code, 'mfa_code_invalid');

      // One token, two different valid codes at once: the token is spent once.
      const third = await login('ada@example.com');
      const raced = await Promise.all(
        [ada.recoveryCodes[1], ada.recoveryCodes[2]].map((recovery) =>
          verify({ mfa_token: third.body.mfa_token, method: 'recovery_code', code: recovery }),
        ),
      );
      assert.deepEqual(raced.map((reply) => reply.status).sort(), [200, 401]);
    });

    it('steps a session up with a code, and refuses an API key', async (t) => {
      const { test, login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');
      const first = await login('ada@example.com');
      const session = await tokenOf(
        verify({
          mfa_token: first.body.mfa_token,
          method: 'recovery_code',
          code: ada.recoveryCodes[0],
        }),
      );
      const wrong = await test.send('POST', '/auth/mfa/step-up', session, {
        method: 'totp',
        code: '000000' === totpCode(ada.secret) ? '111111' : '000000',
      });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.code, 'mfa_code_invalid');
      const stepped = await test.send('POST', '/auth/mfa/step-up', session, {
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 0),
      });
      assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
      assert.deepEqual(stepped.body.amr, ['pwd', 'otp', 'mfa']);
      const until = Date.parse(stepped.body.step_up_until as string);
      const at = Date.parse(stepped.body.second_factor_at as string);
      assert.equal(until - at, test.config.mfa.step_up_seconds * 1000);
      const replay = await test.send('POST', '/auth/mfa/step-up', session, {
        method: 'totp',
        code: totpCode(ada.secret, Date.now(), 0),
      });
      assert.equal(replay.status, 400, 'a code is accepted once');

      const key = await test.keyFor('acme');
      const byKey = await test.send('POST', '/auth/mfa/step-up', key, {
        method: 'totp',
        code: '123456',
      });
      assert.equal(byKey.status, 400);
      const anonymous = await test.send('POST', '/auth/mfa/step-up', null, {
        method: 'totp',
        code: '1',
      });
      assert.equal(anonymous.status, 401);
      const trailed = (await trail(test)).filter((e) => e.action === 'mfa.step_up');
      assert.deepEqual(
        trailed.map((e) => e.outcome),
        ['failure', 'success', 'failure'],
      );
    });

    it('ends a login waiting for its second factor when the password changes', async (t) => {
      const { test, login, verify, enrolled } = await fixture(t, engine);
      const ada = await enrolled('ada@example.com');
      const pending = await login('ada@example.com');
      const other = await login('ada@example.com');
      const session = await tokenOf(
        verify({
          mfa_token: other.body.mfa_token,
          method: 'recovery_code',
          code: ada.recoveryCodes[0],
        }),
      );
      const changed = await test.send('POST', '/auth/password', session, {
        current_password: PASSWORD,
        new_password: 'another long enough passphrase',
      });
      assert.equal(changed.status, 204, JSON.stringify(changed.body));
      const late = await verify({
        mfa_token: pending.body.mfa_token,
        method: 'recovery_code',
        code: ada.recoveryCodes[1],
      });
      assert.equal(late.status, 401);
      assert.equal(late.body.code, 'mfa_token_invalid');
    });

    it('lets an account without a factor log in with a password alone', async (t) => {
      const { test, login } = await fixture(t, engine);
      await test.member('bob@example.com', 'acme');
      const reply = await login('bob@example.com');
      assert.equal(reply.status, 200);
      assert.deepEqual(decodeJwt(reply.body.access_token as string).amr, ['pwd']);
    });
  });
}
