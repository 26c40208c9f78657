import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import {
  enrollTotp,
  factorRows,
  type TotpApp,
  totpApp,
} from '../../../../test/helpers/totp-fixture.ts';
import type { AuditContext } from '../../../access/audit-context.ts';
import { digestSecret } from '../../../platform/secrets.ts';
import { createMfaTokenStore } from '../mfa-token-store.ts';
import type { FactorAttempt } from '../second-factor.ts';
import { normalizeRecoveryCode, recoveryCodeDigest } from './recovery-code-format.ts';

const CONTEXT: AuditContext = {
  actor: null,
  actor_type: 'anonymous',
  ip: '192.0.2.9',
  user_agent: 'test',
  request_id: null,
};

for (const engine of testEngines()) {
  describe(`recovery codes (${engine})`, () => {
    let app: TotpApp;
    before(async () => {
      app = await totpApp(engine);
    });
    after(() => app.close());

    /** A user with TOTP and its ten codes, signed in to the first tenant by the session that enrolled. */
    async function enrolled(email: string, tenants: readonly string[] = ['acme']) {
      const userId = await app.userIn(email, tenants);
      // A second session opened before enrolling proved only the password (a login
      // after enrolling asks for the factor).
      const passwordOnly = await app.login(email, undefined, tenants[0]);
      const tokens = await app.login(email, undefined, tenants[0]);
      const { recoveryCodes } = await enrollTotp(app, tokens, app.clock.now);
      const sessionId = sessionIdOf(tokens.access);
      const attempt = (code: string, binding?: FactorAttempt['binding']): FactorAttempt => ({
        userId,
        code,
        binding: binding ?? { kind: 'session', sessionId },
      });
      return { userId, tokens, passwordOnly, codes: recoveryCodes, attempt };
    }

    it('each code works once, typed loosely; a wrong or spent one is refused; the use is audited and emailed', async () => {
      const { userId, codes, attempt } = await enrolled('amy@acme.test');
      const [first, second] = codes as [string, string];
      const verifier = app.verifier('recovery_code');
      assert.equal(await verifier.enabledFor(userId), true);

      const used = await verifier.verify(attempt(first), CONTEXT);
      assert.deepEqual(used, {
        ok: true,
        proof: { amr: ['otp'], secondFactor: true },
        detail: { codes_left: 9 },
      });
      assert.deepEqual(await verifier.verify(attempt(first), CONTEXT), {
        ok: false,
        reason: 'replayed',
      });
      assert.deepEqual(await verifier.verify(attempt('zzzzz-zzzzz'), CONTEXT), {
        ok: false,
        reason: 'wrong_code',
      });
      assert.deepEqual(await verifier.verify(attempt('not a code'), CONTEXT), {
        ok: false,
        reason: 'wrong_code',
      });
      const loose = ` ${second.toUpperCase().replace('-', ' ')} `;
      assert.deepEqual((await verifier.verify(attempt(loose), CONTEXT)).ok, true);

      const rows = (await factorRows(app.test.db, userId)).codes;
      assert.equal(rows.filter((row) => row.used_ms !== null).length, 2);

      const uses = (await app.trail('acme', 'mfa.recovery_code_used')).filter(
        (entry) => entry.target === `user:${userId}`,
      );
      assert.deepEqual(
        uses.map((entry) => [entry.actor, entry.actor_type, entry.details.codes_left]),
        [
          [userId, 'user', 9],
          [userId, 'user', 8],
        ],
      );
      assert.ok(!JSON.stringify(uses).includes(first));
      const mail = await app.nextMail('amy@acme.test', 'mfa_changed', 1);
      assert.match(mail.text, /A recovery code was used/);
    });

    it('of two simultaneous uses of one code exactly one succeeds', async () => {
      const { codes, attempt } = await enrolled('ben@acme.test');
      const verifier = app.verifier('recovery_code');
      const outcomes = await Promise.all([
        verifier.verify(attempt(codes[0] as string), CONTEXT),
        verifier.verify(attempt(codes[0] as string), CONTEXT),
      ]);
      assert.equal(outcomes.filter((outcome) => outcome.ok).length, 1);
      assert.deepEqual(
        outcomes.find((outcome) => !outcome.ok),
        { ok: false, reason: 'replayed' },
      );
    });

    it('at login the use goes to the trail of the tenant the login chose', async () => {
      const { userId, codes, attempt } = await enrolled('cal@acme.test', ['acme', 'beta']);
      const { token } = await createMfaTokenStore(app.test.db.kysely).issue(
        { user_id: userId, tenant_id: 'beta', amr: ['pwd'], ip: null, user_agent: null },
        60_000,
      );
      const binding = { kind: 'login', mfaTokenDigest: digestSecret(token) } as const;
      const outcome = await app
        .verifier('recovery_code')
        .verify(attempt(codes[3] as string, binding), CONTEXT);
      assert.equal(outcome.ok, true);
      const inBeta = (await app.trail('beta', 'mfa.recovery_code_used')).filter(
        (entry) => entry.target === `user:${userId}`,
      );
      assert.equal(inBeta.length, 1);
      assert.equal(inBeta[0]?.details.binding, 'login');
    });

    it('regenerating voids the old codes and needs a recent second factor', async () => {
      const { userId, tokens, passwordOnly, codes, attempt } = await enrolled('dot@acme.test');
      const refused = await app.api('POST', '/auth/mfa/recovery-codes', {
        as: passwordOnly.access,
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'step_up_required');

      const fresh = await app.api('POST', '/auth/mfa/recovery-codes', { as: tokens.access });
      assert.equal(fresh.status, 200, fresh.text);
      const renewed = fresh.body.recovery_codes as string[];
      assert.equal(renewed.length, 10);
      assert.ok(renewed.every((code) => !codes.includes(code)));

      const verifier = app.verifier('recovery_code');
      assert.deepEqual(await verifier.verify(attempt(codes[0] as string), CONTEXT), {
        ok: false,
        reason: 'wrong_code',
      });
      assert.equal((await verifier.verify(attempt(renewed[0] as string), CONTEXT)).ok, true);

      const [entry] = (await app.trail('acme', 'mfa.recovery_codes_regenerated')).filter(
        (candidate) => candidate.target === `user:${userId}`,
      );
      assert.equal(entry?.actor, userId);
      assert.ok(!JSON.stringify(entry).includes(renewed[1] as string));
      const mail = await app.nextMail('dot@acme.test', 'mfa_changed', 1);
      assert.match(mail.text, /New recovery codes were generated/);
      const metrics = await app.test.app.inject({ url: '/metrics' });
      assert.match(
        metrics.body,
        /mfa_factor_changes_total\{method="recovery_code",change="regenerated"\} [1-9]/,
      );
    });

    it('two simultaneous regenerations leave exactly one set of ten valid codes', async () => {
      const { userId, tokens } = await enrolled('eli@acme.test');
      const replies = await Promise.all([
        app.api('POST', '/auth/mfa/recovery-codes', { as: tokens.access }),
        app.api('POST', '/auth/mfa/recovery-codes', { as: tokens.access }),
      ]);
      for (const reply of replies) assert.equal(reply.status, 200, reply.text);
      const rows = (await factorRows(app.test.db, userId)).codes;
      assert.equal(rows.length, 10);
      const stored = new Set(rows.map((row) => row.digest));
      const digestsOf = (codes: string[]) =>
        codes.map((code) => recoveryCodeDigest(userId, normalizeRecoveryCode(code) as string));
      const matching = replies.filter((reply) =>
        digestsOf(reply.body.recovery_codes as string[]).every((digest) => stored.has(digest)),
      );
      assert.equal(matching.length, 1, 'the stored set is one answer’s, whole');
    });

    it('without a factor there are no codes to regenerate (mfa_not_enabled), and removing the last factor voids them', async () => {
      const userId = await app.userIn('fox@acme.test', ['acme']);
      const none = await app.login('fox@acme.test');
      const refused = await app.api('POST', '/auth/mfa/recovery-codes', { as: none.access });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'mfa_not_enabled');
      const verifier = app.verifier('recovery_code');
      assert.equal(await verifier.enabledFor(userId), false);

      const codes = (await enrollTotp(app, none, app.clock.now)).recoveryCodes;
      assert.equal(await verifier.enabledFor(userId), true);
      const removed = await app.api('DELETE', '/auth/mfa/totp', { as: none.access });
      assert.equal(removed.status, 204);
      assert.equal(await verifier.enabledFor(userId), false);
      const outcome = await verifier.verify(
        { userId, code: codes[0] as string, binding: { kind: 'session', sessionId: 'x' } },
        CONTEXT,
      );
      assert.deepEqual(outcome, { ok: false, reason: 'not_enrolled' });
    });
  });
}

/** The session id (`sid`) an access token carries. */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return String(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).sid);
}
