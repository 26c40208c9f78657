import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { PASSWORD } from '../../../../test/helpers/email-link-fixture.ts';
import { startNodes } from '../../../../test/helpers/nodes.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import { base32Decode, hotp, totpCode } from '../../../../test/helpers/totp.ts';
import {
  enrollTotp,
  mfaClock,
  type TotpApp,
  totpApp,
  verifierOf,
} from '../../../../test/helpers/totp-fixture.ts';
import type { AuditContext } from '../../../access/audit-context.ts';
import { hashPassword } from '../../login/passwords.ts';
import type { FactorAttempt } from '../second-factor.ts';
import { matchingStep, totpStepAt } from './totp-codes.ts';

const CONTEXT: AuditContext = {
  actor: null,
  actor_type: 'anonymous',
  ip: '192.0.2.7',
  user_agent: 'test',
  request_id: null,
};

// RFC 6238 Appendix B, SHA-1: the seed is the ASCII string, the codes 8 digits.
const RFC_SEED = '12345678901234567890';
const RFC_VECTORS: readonly [seconds: number, code: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
/** RFC 4648 base32 of the seed (no padding: 20 bytes are 32 characters). */
const RFC_SEED_BASE32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP codes (RFC 6238 Appendix B)', () => {
  it('otplib, configured as the service uses it, gives the RFC’s SHA-1 vectors', async () => {
    assert.deepEqual(base32Decode(RFC_SEED_BASE32), Buffer.from(RFC_SEED, 'ascii'));
    for (const [seconds, expected] of RFC_VECTORS) {
      const code = await generate({
        secret: RFC_SEED_BASE32,
        epoch: seconds,
        digits: 8,
        period: 30,
        algorithm: 'sha1',
      });
      assert.equal(code, expected, `T = ${seconds}`);
      // The independent implementation agrees, so the tests' codes are the RFC's too.
      assert.equal(hotp(Buffer.from(RFC_SEED, 'ascii'), Math.floor(seconds / 30), 8), expected);
    }
  });

  it('the service’s check finds each vector’s step from its six-digit form, and only within ±1 step', async () => {
    for (const [seconds, expected] of RFC_VECTORS) {
      const sixDigits = expected.slice(-6);
      const atMs = seconds * 1000;
      assert.equal(await matchingStep(RFC_SEED_BASE32, sixDigits, atMs), totpStepAt(atMs));
      assert.equal(
        await matchingStep(RFC_SEED_BASE32, sixDigits, atMs + 30_000),
        totpStepAt(atMs),
        'one step late is accepted',
      );
      assert.equal(await matchingStep(RFC_SEED_BASE32, sixDigits, atMs + 61_000), undefined);
    }
    assert.equal(await matchingStep(RFC_SEED_BASE32, 'abcdef', 59_000), undefined);
    assert.equal(await matchingStep(RFC_SEED_BASE32, '1234567', 59_000), undefined);
  });
});

for (const engine of testEngines()) {
  describe(`the totp verifier (${engine})`, () => {
    let app: TotpApp;
    before(async () => {
      app = await totpApp(engine);
    });
    after(() => app.close());

    /** A user with TOTP confirmed (at the frozen step − 1); the attempt's binding is its session. */
    async function enrolled(email: string) {
      const at = app.clock.freeze();
      const userId = await app.userIn(email, ['acme']);
      const tokens = await app.login(email);
      const { secret, recoveryCodes } = await enrollTotp(app, tokens, app.clock.now, -1);
      const session = (await app.test.services.identity.sessions.find(
        sessionIdOf(tokens.access),
      )) as { id: string };
      const attempt = (code: string): FactorAttempt => ({
        userId,
        code,
        binding: { kind: 'session', sessionId: session.id },
      });
      return { userId, secret, recoveryCodes, at, attempt };
    }

    it('accepts ±1 step, refuses ±2, and each step once (a replay, or an earlier step, is refused)', async () => {
      const { secret, at, attempt } = await enrolled('ivy@acme.test');
      try {
        const verifier = app.verifier('totp');
        const verify = (offset: number) =>
          verifier.verify(attempt(totpCode(secret, at, offset)), CONTEXT);
        assert.deepEqual(await verify(2), { ok: false, reason: 'wrong_code' });
        assert.deepEqual(await verify(-2), { ok: false, reason: 'wrong_code' });
        assert.deepEqual(
          await verify(-1),
          { ok: false, reason: 'replayed' },
          'spent by confirming',
        );
        const current = await verify(0);
        assert.ok(current.ok);
        assert.deepEqual(current.proof, { amr: ['otp'], secondFactor: true });
        assert.deepEqual(await verify(0), { ok: false, reason: 'replayed' });
        assert.ok((await verify(1)).ok, 'one step ahead');
        assert.deepEqual(await verify(0), { ok: false, reason: 'replayed' }, 'an earlier step');
        assert.deepEqual(await verifier.verify(attempt('12345'), CONTEXT), {
          ok: false,
          reason: 'wrong_code',
        });
      } finally {
        app.clock.reset();
      }
    });

    it('of two simultaneous uses of one code exactly one succeeds', async () => {
      const { secret, at, attempt } = await enrolled('jo@acme.test');
      try {
        const verifier = app.verifier('totp');
        const code = totpCode(secret, at);
        const outcomes = await Promise.all([
          verifier.verify(attempt(code), CONTEXT),
          verifier.verify(attempt(code), CONTEXT),
        ]);
        assert.equal(outcomes.filter((outcome) => outcome.ok).length, 1);
        assert.deepEqual(
          outcomes.find((outcome) => !outcome.ok),
          { ok: false, reason: 'replayed' },
        );
      } finally {
        app.clock.reset();
      }
    });

    it('knows who has TOTP, and answers not_enrolled for who has none', async () => {
      const { userId } = await enrolled('kit@acme.test');
      app.clock.reset();
      const other = await app.userIn('lee@acme.test', ['acme']);
      const verifier = app.verifier('totp');
      assert.equal(await verifier.enabledFor(userId), true);
      assert.equal(await verifier.enabledFor(other), false);
      assert.deepEqual(
        await verifier.verify(
          { userId: other, code: '123456', binding: { kind: 'session', sessionId: 'none' } },
          CONTEXT,
        ),
        { ok: false, reason: 'not_enrolled' },
      );
      await assert.rejects(
        verifier.verify({ userId, binding: { kind: 'session', sessionId: 'none' } }, CONTEXT),
        (error: { status?: number }) => error.status === 400,
      );
    });
  });

  describe(`a TOTP code across nodes (${engine})`, () => {
    it('is accepted once by two nodes sharing one database, used one after the other or at once', async (t) => {
      const clock = mfaClock();
      const at = clock.freeze();
      const nodes = await startNodes(
        t,
        engine,
        2,
        { rate_limits: { enabled: false } },
        { services: { mfaNow: () => clock.now() } },
      );
      const [first, second] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      const { services } = first;
      const user = await services.identity.users.createUser({
        email: 'max@acme.test',
        password_hash: await hashPassword(PASSWORD),
      });
      await services.tenancy.tenants.create({ id: 'acme', name: 'acme', plan: 'unlimited' });
      await services.tenancy.memberships.grant('acme', user.id, ['admin']);
      const login = await first.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'max@acme.test', password: PASSWORD },
      });
      assert.equal(login.statusCode, 200, login.body);
      const access = String(login.json().access_token);
      const api = (node: typeof first, url: string, payload?: object) =>
        node.app.inject({
          method: 'POST',
          url: `/api/v1${url}`,
          headers: { authorization: `Bearer ${access}` },
          ...(payload ? { payload } : {}),
        });
      const started = await api(second, '/auth/mfa/totp');
      assert.equal(started.statusCode, 200, started.body);
      const secret = String(started.json().secret);
      const confirmed = await api(first, '/auth/mfa/totp/confirm', {
        code: totpCode(secret, at, -1),
      });
      assert.equal(confirmed.statusCode, 200, confirmed.body);

      const attempt = (code: string): FactorAttempt => ({
        userId: user.id,
        code,
        binding: { kind: 'session', sessionId: sessionIdOf(access) },
      });
      const onFirst = verifierOf(first.services.identity.factorVerifiers, 'totp');
      const onSecond = verifierOf(second.services.identity.factorVerifiers, 'totp');
      const now = totpCode(secret, at);
      assert.ok((await onFirst.verify(attempt(now), CONTEXT)).ok);
      assert.deepEqual(await onSecond.verify(attempt(now), CONTEXT), {
        ok: false,
        reason: 'replayed',
      });
      const next = totpCode(secret, at, 1);
      const together = await Promise.all([
        onFirst.verify(attempt(next), CONTEXT),
        onSecond.verify(attempt(next), CONTEXT),
      ]);
      assert.equal(together.filter((outcome) => outcome.ok).length, 1);
    });
  });
}

/** The session id (`sid`) an access token carries. */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return String(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).sid);
}
