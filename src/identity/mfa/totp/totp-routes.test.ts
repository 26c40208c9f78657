import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { apiKeyFor } from '../../../../test/helpers/auth.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import { totpCode } from '../../../../test/helpers/totp.ts';
import {
  addPasskeyRow,
  enrollTotp,
  factorRows,
  type TotpApp,
  totpApp,
} from '../../../../test/helpers/totp-fixture.ts';
import type { Tables } from '../../../storage/tables.ts';

const REAUTH_SECONDS = 300;
const STEP_UP_SECONDS = 300;

for (const engine of testEngines()) {
  describe(`TOTP enrollment and removal (${engine})`, () => {
    let app: TotpApp;
    before(async () => {
      app = await totpApp(engine, {
        mfa: {
          reauthentication_seconds: REAUTH_SECONDS,
          step_up_seconds: STEP_UP_SECONDS,
          totp_issuer: 'Acme Events',
        },
      });
    });
    after(() => app.close());

    it('enrolls with the secret, URI and QR code, confirms with the current code, and answers ten recovery codes once', async () => {
      const userId = await app.userIn('ada@acme.test', ['acme']);
      const tokens = await app.login('ada@acme.test');

      const started = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
      assert.equal(started.status, 200, started.text);
      const secret = String(started.body.secret);
      assert.match(secret, /^[A-Z2-7]{32}$/, '20 random bytes in base32');
      assert.equal(
        started.body.otpauth_uri,
        `otpauth://totp/Acme%20Events:ada%40acme.test?secret=${secret}&issuer=Acme%20Events&algorithm=SHA1&digits=6&period=30`,
      );
      const qr = String(started.body.qr_code);
      assert.match(qr, /^data:image\/png;base64,/);
      const png = Buffer.from(qr.slice('data:image/png;base64,'.length), 'base64');
      assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);

      // At rest the secret is sealed, never in clear.
      const pending = await factorRows(app.test.db, userId);
      assert.ok(pending.totp);
      assert.equal(pending.totp.confirmed_ms, null);
      assert.match(pending.totp.secret, /^v1\./);
      assert.ok(!pending.totp.secret.includes(secret));

      const wrong = await app.api('POST', '/auth/mfa/totp/confirm', {
        as: tokens.access,
        body: { code: totpCode(secret, app.clock.now(), 3) },
      });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.code, 'mfa_code_invalid');

      const confirmed = await app.api('POST', '/auth/mfa/totp/confirm', {
        as: tokens.access,
        body: { code: totpCode(secret, app.clock.now()) },
      });
      assert.equal(confirmed.status, 200, confirmed.text);
      const codes = confirmed.body.recovery_codes as string[];
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, /^[0-9a-z]{5}-[0-9a-z]{5}$/);

      const active = await factorRows(app.test.db, userId);
      assert.notEqual(active.totp?.confirmed_ms, null);
      assert.equal(active.codes.length, 10);
      const stored = JSON.stringify(active.codes);
      for (const code of codes) {
        assert.ok(!stored.includes(code) && !stored.includes(code.replace('-', '')));
      }

      // Active now: a second enrollment or confirmation is refused, nothing changes.
      for (const url of ['/auth/mfa/totp', '/auth/mfa/totp/confirm']) {
        const again = await app.api('POST', url, {
          as: tokens.access,
          ...(url.endsWith('confirm') ? { body: { code: '123456' } } : {}),
        });
        assert.equal(again.status, 409, url);
        assert.equal(again.body.code, 'totp_already_enabled');
      }
      assert.equal((await factorRows(app.test.db, userId)).totp?.secret, active.totp?.secret);

      const trail = await app.trail('acme');
      const mine = trail.filter((entry) => entry.target === `user:${userId}`);
      assert.deepEqual(
        mine.map((entry) => [entry.action, entry.outcome]),
        [
          ['mfa.totp_enrollment_started', 'success'],
          ['mfa.totp_confirm_failed', 'failure'],
          ['mfa.totp_enrolled', 'success'],
        ],
      );
      assert.ok(mine.every((entry) => entry.actor === userId && entry.actor_type === 'user'));
      const written = JSON.stringify(mine);
      assert.ok(!written.includes(secret) && !codes.some((code) => written.includes(code)));

      const mail = await app.nextMail('ada@acme.test', 'mfa_changed');
      assert.match(mail.text, /authenticator app \(TOTP\) was added/);
      assert.ok(!mail.text.includes(secret));

      const metrics = await app.test.app.inject({ url: '/metrics' });
      assert.match(
        metrics.body,
        /mfa_factor_changes_total\{method="totp",change="enrolled"\} [1-9]/,
      );
    });

    it('confirming proves a second factor in the session: removal needs no further step-up', async () => {
      const userId = await app.userIn('bo@acme.test', ['acme']);
      const tokens = await app.login('bo@acme.test');
      await enrollTotp(app, tokens, app.clock.now);

      const removed = await app.api('DELETE', '/auth/mfa/totp', { as: tokens.access });
      assert.equal(removed.status, 204, removed.text);
      const rows = await factorRows(app.test.db, userId);
      assert.equal(rows.totp, undefined);
      assert.equal(rows.codes.length, 0, 'no factor left: the recovery codes went too');

      const again = await app.api('DELETE', '/auth/mfa/totp', { as: tokens.access });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'totp_not_enabled');

      const [removal] = await app.trail('acme', 'mfa.totp_removed');
      assert.equal(removal?.target, `user:${userId}`);
      assert.deepEqual(removal?.details, { recovery_codes_removed: true });
      const mail = await app.nextMail('bo@acme.test', 'mfa_changed', 1);
      assert.match(mail.text, /authenticator app \(TOTP\) was removed/);
      const metrics = await app.test.app.inject({ url: '/metrics' });
      assert.match(
        metrics.body,
        /mfa_factor_changes_total\{method="totp",change="removed"\} [1-9]/,
      );
    });

    it('a session with only a password proof cannot remove TOTP or regenerate codes (step_up_required), nor can an old proof', async () => {
      const userId = await app.userIn('cy@acme.test', ['acme']);
      // Opened before enrolling: a login after it asks for the factor.
      const passwordOnly = await app.login('cy@acme.test');
      const enrolling = await app.login('cy@acme.test');
      await enrollTotp(app, enrolling, app.clock.now);
      for (const [method, url] of [
        ['DELETE', '/auth/mfa/totp'],
        ['POST', '/auth/mfa/recovery-codes'],
      ] as const) {
        const refused = await app.api(method, url, { as: passwordOnly.access });
        assert.equal(refused.status, 403, url);
        assert.equal(refused.body.code, 'step_up_required');
      }
      // The enrolling session's proof, once older than mfa.step_up_seconds.
      app.clock.shift((STEP_UP_SECONDS + 1) * 1000);
      try {
        const stale = await app.api('DELETE', '/auth/mfa/totp', { as: enrolling.access });
        assert.equal(stale.status, 403);
        assert.equal(stale.body.code, 'step_up_required');
      } finally {
        app.clock.reset();
      }
      const rows = await factorRows(app.test.db, userId);
      assert.notEqual(rows.totp?.confirmed_ms, null, 'nothing removed');
      assert.equal(rows.codes.length, 10);
    });

    it('enrolling needs a recent password or factor check (reauthentication_required)', async () => {
      const userId = await app.userIn('di@acme.test', ['acme']);
      const tokens = await app.login('di@acme.test');
      app.clock.shift((REAUTH_SECONDS + 1) * 1000);
      try {
        const refused = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
        assert.equal(refused.status, 403);
        assert.equal(refused.body.code, 'reauthentication_required');
        assert.equal((await factorRows(app.test.db, userId)).totp, undefined);
      } finally {
        app.clock.reset();
      }
      const fresh = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
      assert.equal(fresh.status, 200);
    });

    it('confirming with nothing pending is totp_not_enabled; a new enrollment replaces a pending one', async () => {
      await app.userIn('ed@acme.test', ['acme']);
      const tokens = await app.login('ed@acme.test');
      const none = await app.api('POST', '/auth/mfa/totp/confirm', {
        as: tokens.access,
        body: { code: '123456' },
      });
      assert.equal(none.status, 409);
      assert.equal(none.body.code, 'totp_not_enabled');
      const removeNone = await app.api('DELETE', '/auth/mfa/totp', { as: tokens.access });
      assert.equal(removeNone.status, 403, 'no second factor proved: step-up first');

      const first = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
      const second = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
      assert.notEqual(first.body.secret, second.body.secret);
      const stale = await app.api('POST', '/auth/mfa/totp/confirm', {
        as: tokens.access,
        body: { code: totpCode(String(first.body.secret), app.clock.now()) },
      });
      assert.equal(stale.status, 400, 'the replaced secret no longer confirms');
      const current = await app.api('POST', '/auth/mfa/totp/confirm', {
        as: tokens.access,
        body: { code: totpCode(String(second.body.secret), app.clock.now()) },
      });
      assert.equal(current.status, 200);
    });

    it('who has a passkey adds TOTP only by proving a factor, and keeps the recovery codes when TOTP goes', async () => {
      const userId = await app.userIn('hal@acme.test', ['acme']);
      const before = await app.login('hal@acme.test');
      await addPasskeyRow(app.test.db, userId, 'acme');
      // A session that proved only the password (one from before the passkey, or a stolen one).
      const refused = await app.api('POST', '/auth/mfa/totp', { as: before.access });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'step_up_required');
      assert.equal((await factorRows(app.test.db, userId)).totp, undefined);

      // With the passkey proved in the session (what step-up records), enrollment goes on.
      const sessionId = sessionIdOf(before.access);
      await app.test.services.identity.sessions.recordProof(sessionId, {
        amr: ['hwk'],
        secondFactor: true,
      });
      const { recoveryCodes } = await enrollTotp(app, before, app.clock.now);
      const removed = await app.api('DELETE', '/auth/mfa/totp', { as: before.access });
      assert.equal(removed.status, 204);
      const rows = await factorRows(app.test.db, userId);
      assert.equal(rows.totp, undefined);
      assert.equal(rows.codes.length, recoveryCodes.length, 'the passkey remains: so do the codes');
    });

    it('in a tenant that requires MFA, a session that could only enroll becomes a full one by confirming', async () => {
      await app.userIn('ivo@strict.test', ['strict']);
      const kysely: Kysely<Pick<Tables, 'tenants'>> = app.test.db.kysely;
      await kysely
        .updateTable('tenants')
        .set({ mfa_required: 'all' })
        .where('id', '=', 'strict')
        .execute();
      const tokens = await app.login('ivo@strict.test');
      const blocked = await app.api('GET', '/auth/api-keys', { as: tokens.access });
      assert.equal(blocked.status, 403);
      assert.equal(blocked.body.code, 'mfa_enrollment_required');

      await enrollTotp(app, tokens, app.clock.now);
      const allowed = await app.api('GET', '/auth/api-keys', { as: tokens.access });
      assert.equal(allowed.status, 200, allowed.text);
    });

    it('refuses API keys: factors are a person’s, proved in a session', async () => {
      const key = await apiKeyFor(app.test.services, 'acme', 'admin');
      for (const [method, url, body] of [
        ['POST', '/auth/mfa/totp', undefined],
        ['POST', '/auth/mfa/totp/confirm', { code: '123456' }],
        ['DELETE', '/auth/mfa/totp', undefined],
        ['POST', '/auth/mfa/recovery-codes', undefined],
      ] as const) {
        const refused = await app.api(method, url, { as: { key }, ...(body ? { body } : {}) });
        assert.equal(refused.status, 400, `${method} ${url}`);
        assert.equal(refused.body.code, 'bad_request');
      }
      const anonymous = await app.api('POST', '/auth/mfa/totp');
      assert.equal(anonymous.status, 401);
    });

    it('a factor is the user’s own and its trail the session’s tenant: another user and tenant see nothing', async () => {
      const fay = await app.userIn('fay@acme.test', ['acme', 'beta']);
      const gus = await app.userIn('gus@acme.test', ['acme']);
      const fayInBeta = await app.login('fay@acme.test', undefined, 'beta');
      await enrollTotp(app, fayInBeta, app.clock.now);
      assert.equal((await factorRows(app.test.db, gus)).totp, undefined);
      const gusTokens = await app.login('gus@acme.test');
      const gusRemoves = await app.api('DELETE', '/auth/mfa/totp', { as: gusTokens.access });
      assert.equal(gusRemoves.status, 403);
      assert.notEqual((await factorRows(app.test.db, fay)).totp?.confirmed_ms, null);

      const inBeta = await app.trail('beta', 'mfa.totp_enrolled');
      assert.equal(inBeta.filter((entry) => entry.target === `user:${fay}`).length, 1);
      const inAcme = await app.trail('acme', 'mfa.totp_enrolled');
      assert.equal(inAcme.filter((entry) => entry.target === `user:${fay}`).length, 0);
    });
  });
}

/** The session id (`sid`) an access token carries. */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return String(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).sid);
}
