import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type LockoutTestApp,
  lockoutTestApp,
  PASSWORD,
} from '../../test/helpers/lockout-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';

/** The value of one sample in GET /metrics (0 when absent). */
async function sample(test: LockoutTestApp, series: string): Promise<number> {
  const text = (await test.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const attempts = (method: string, outcome: string) =>
  `auth_attempts_total{method="${method}",outcome="${outcome}"}`;

for (const engine of testEngines()) {
  describe(`auth metrics (${engine})`, () => {
    it('counts password logins by outcome, and locks', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
      for (let i = 0; i < 3; i++) await test.attempt('ada@acme.test', 'wrong');
      await test.attempt('nobody@acme.test', 'wrong');
      await test.attempt('ada@acme.test', PASSWORD);
      await test.attempt('ada@acme.test', 'wrong');
      assert.equal(await sample(test, attempts('password', 'success')), 1);
      assert.equal(await sample(test, attempts('password', 'failure')), 4);
      assert.equal(await sample(test, attempts('password', 'locked')), 2);
      assert.equal(await sample(test, 'lockouts_total'), 1);
    });

    it('counts refreshes, API keys and access tokens the guard checks', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      const login = (await test.attempt('ada@acme.test', PASSWORD)).json();
      const refresh = (token: string) =>
        test.send('POST', '/auth/refresh', null, { refresh_token: token });
      assert.equal((await refresh(login.refresh_token)).status, 200);
      assert.equal((await refresh('no-such-token')).status, 401);
      assert.equal(await sample(test, attempts('refresh', 'success')), 1);
      assert.equal(await sample(test, attempts('refresh', 'failure')), 1);

      const key = await test.keyFor('acme');
      assert.equal((await test.send('GET', '/lockouts', key)).status, 200);
      assert.equal((await test.send('GET', '/lockouts', { key: 'tsk_wrong' })).status, 401);
      // Authenticated but not allowed: the credential itself was good.
      assert.equal(
        (await test.send('GET', '/lockouts', await test.keyFor('acme', 'viewer'))).status,
        403,
      );
      assert.equal(await sample(test, attempts('api_key', 'success')), 2);
      assert.equal(await sample(test, attempts('api_key', 'failure')), 1);

      assert.equal((await test.send('GET', '/auth/me', { token: login.access_token })).status, 200);
      assert.equal((await test.send('GET', '/auth/me', { token: 'garbage' })).status, 401);
      assert.equal((await test.send('GET', '/auth/me', null)).status, 401);
      assert.equal(await sample(test, attempts('access_token', 'success')), 1);
      assert.equal(await sample(test, attempts('access_token', 'failure')), 1);
    });
  });
}
