import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type LockoutTestApp,
  lockoutTestApp,
  observable,
  PASSWORD,
} from '../../../test/helpers/lockout-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const WRONG = 'not the password';

/** The `reason` of every `login.failed` in acme's trail, oldest first. */
async function failedReasons(test: LockoutTestApp): Promise<string[]> {
  const trail = await test.send(
    'GET',
    '/audit?action=login.failed&order=asc&limit=100',
    await test.keyFor('acme'),
  );
  return (trail.body.events as { payload: { details: { reason: string } } }[]).map(
    (e) => e.payload.details.reason,
  );
}

for (const engine of testEngines()) {
  describe(`account lockout (${engine})`, () => {
    it('locks after max_failures wrong passwords and then refuses the right one', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 3; i++) {
        assert.equal((await test.attempt('ada@acme.test', WRONG)).statusCode, 401);
      }
      const refused = await test.attempt('ada@acme.test', PASSWORD);
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().code, 'invalid_credentials');
    });

    it('answers a locked account exactly like a wrong password and an unknown email', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      await test.member('bob@acme.test', 'acme');
      for (let i = 0; i < 3; i++) await test.attempt('ada@acme.test', WRONG);

      const lockedRightPassword = observable(await test.attempt('ada@acme.test', PASSWORD));
      const lockedWrongPassword = observable(await test.attempt('ada@acme.test', WRONG));
      const wrongPassword = observable(await test.attempt('bob@acme.test', WRONG));
      const unknownEmail = observable(await test.attempt('nobody@acme.test', WRONG));
      assert.equal(lockedRightPassword, wrongPassword);
      assert.equal(lockedWrongPassword, wrongPassword);
      assert.equal(unknownEmail, wrongPassword);
      assert.match(wrongPassword, /invalid_credentials/);
    });

    it('unlocks by itself after lock_seconds', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 3; i++) await test.attempt('ada@acme.test', WRONG);
      test.advance(119);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 401);
      test.advance(2);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
    });

    it('forgets failures after a success and once the window has passed', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 2; i++) await test.attempt('ada@acme.test', WRONG);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
      for (let i = 0; i < 2; i++) await test.attempt('ada@acme.test', WRONG);
      test.advance(61);
      for (let i = 0; i < 2; i++) await test.attempt('ada@acme.test', WRONG);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
    });

    it('stores nothing for emails that belong to no account', async (t) => {
      const test = await lockoutTestApp(t, engine);
      for (let i = 0; i < 5; i++) await test.attempt(`guess${i}@acme.test`, WRONG);
      const rows = await test.db.kysely.selectFrom('account_lockouts').selectAll().execute();
      assert.deepEqual(rows, []);
    });

    it('audits the lock in every tenant of the account, as the anonymous caller', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const ada = await test.member('ada@acme.test', 'acme');
      await test.keyFor('globex');
      await test.services.tenancy.memberships.grant('globex', ada, ['viewer']);
      for (let i = 0; i < 3; i++) await test.attempt('ada@acme.test', WRONG, '192.0.2.7');
      for (const tenant of ['acme', 'globex']) {
        const trail = await test.send(
          'GET',
          '/audit?action=account.locked',
          await test.keyFor(tenant),
        );
        const events = trail.body.events as { payload: Record<string, unknown> }[];
        assert.equal(events.length, 1, tenant);
        const entry = events[0]?.payload ?? {};
        assert.equal(entry.target, `user:${ada}`);
        assert.equal(entry.actor_type, 'anonymous');
        assert.equal(entry.ip, '192.0.2.7');
        assert.equal((entry.details as Record<string, unknown>).failures, 3);
      }
      // The trail (not the caller) learns why the refused login failed.
      const failed = await test.send(
        'GET',
        '/audit?action=login.failed',
        await test.keyFor('acme'),
      );
      await test.attempt('ada@acme.test', PASSWORD);
      const after = await test.send(
        'GET',
        '/audit?action=login.failed&order=asc',
        await test.keyFor('acme'),
      );
      const reasons = (after.body.events as { payload: { details: { reason: string } } }[]).map(
        (e) => e.payload.details.reason,
      );
      assert.equal(reasons.length, (failed.body.events as unknown[]).length + 1);
      assert.equal(reasons.at(-1), 'account_locked');
    });

    it('checks at most max_failures passwords of 30 concurrent wrong guesses', async (t) => {
      const test = await lockoutTestApp(t, engine, { max_failures: 5 });
      await test.member('ada@acme.test', 'acme');
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => test.attempt('ada@acme.test', WRONG)),
      );
      assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([401]));
      assert.equal(test.passwordChecks(), 5);
      // The fifth failure locked it: the right password is refused unchecked.
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 401);
      assert.equal(test.passwordChecks(), 5);
      const reasons = await failedReasons(test);
      assert.equal(reasons.filter((r) => r === 'invalid_credentials').length, 5);
      assert.equal(reasons.at(-1), 'account_locked');
    });

    it('after max_failures - 1 failures, checks one of 30 concurrent guesses with the right password among them', async (t) => {
      const test = await lockoutTestApp(t, engine, { max_failures: 5 });
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 4; i++) await test.attempt('ada@acme.test', WRONG);
      assert.equal(test.passwordChecks(), 4);
      const guesses = Array.from({ length: 30 }, (_, i) => (i === 17 ? PASSWORD : `${WRONG} ${i}`));
      const answers = await Promise.all(
        guesses.map((guess) => test.attempt('ada@acme.test', guess)),
      );
      const checked = test.passwordChecks() - 4;
      const succeeded = answers.filter((a) => a.statusCode === 200).length;
      assert.ok(succeeded <= 1);
      const locked = await test.db.kysely
        .selectFrom('account_lockouts')
        .select('locked_until_ms')
        .where('locked_until_ms', 'is not', null)
        .execute();
      if (succeeded === 0) {
        // The one guess checked was wrong: it locked the account, and nothing else was checked.
        assert.equal(checked, 1);
        assert.equal(locked.length, 1);
      } else {
        // The right password won the last attempt. A success forgets the failures, so
        // guesses of the burst that arrive after it (a loaded machine spreads them out)
        // start a new window: at most max_failures more are checked, never the 30.
        assert.ok(checked >= 1 && checked <= 1 + 5, `${checked} passwords checked`);
      }
    });

    it('gives back the attempts of a crashed request with the window', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const ada = await test.member('ada@acme.test', 'acme');
      // Three attempts reserved, as by requests that died before checking the password.
      const at = Date.now();
      await test.db.kysely
        .insertInto('account_lockouts')
        .values({
          user_id: ada,
          failures: 3,
          window_start_ms: at,
          locked_ms: null,
          locked_until_ms: null,
        })
        .execute();
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 401);
      assert.equal(test.passwordChecks(), 0);
      // Far past the window, whenever the test's clock started.
      test.advance(600);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
      assert.equal(test.passwordChecks(), 1);
    });

    it('does nothing when lockout.enabled is false', async (t) => {
      const test = await lockoutTestApp(t, engine, { enabled: false });
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 10; i++) await test.attempt('ada@acme.test', WRONG);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
      assert.deepEqual(test.delays, []);
    });
  });

  describe(`slowing a client IP (${engine})`, () => {
    it('delays logins from an IP past max_failures, doubling up to the cap', async (t) => {
      const test = await lockoutTestApp(t, engine);
      for (let i = 0; i < 8; i++) await test.attempt(`guess${i}@acme.test`, WRONG);
      // Attempts 1-3 find fewer than 3 failures; then 100 ms, doubling, capped at 500.
      assert.deepEqual(test.delays, [100, 200, 400, 500, 500]);
    });

    it('slows only that IP, also for a right password, and stops after a quiet window', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      for (let i = 0; i < 3; i++) await test.attempt(`guess${i}@acme.test`, WRONG, '198.51.100.1');
      assert.equal((await test.attempt('ada@acme.test', PASSWORD, '198.51.100.2')).statusCode, 200);
      assert.deepEqual(test.delays, []);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD, '198.51.100.1')).statusCode, 200);
      assert.deepEqual(test.delays, [100]);
      test.advance(61);
      await test.attempt('ada@acme.test', PASSWORD, '198.51.100.1');
      assert.deepEqual(test.delays, [100]);
    });

    it('keeps a slowed IP slowed while it keeps failing, window after window', async (t) => {
      const test = await lockoutTestApp(t, engine);
      for (let i = 0; i < 3; i++) await test.attempt('x@acme.test', WRONG);
      for (let i = 0; i < 3; i++) {
        test.advance(50);
        await test.attempt('x@acme.test', WRONG);
      }
      assert.deepEqual(test.delays, [100, 200, 400]);
    });

    it('audits the IP becoming slowed in the platform trail', async (t) => {
      const test = await lockoutTestApp(t, engine);
      for (let i = 0; i < 5; i++) await test.attempt('x@acme.test', WRONG, '203.0.113.9');
      const trail = await test.send('GET', '/audit?action=login_ip.slowed', test.platform);
      const events = trail.body.events as { payload: Record<string, unknown> }[];
      assert.equal(events.length, 1);
      assert.equal(events[0]?.payload.target, 'ip:203.0.113.9');
    });
  });
}
