import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lockoutTestApp, PASSWORD } from '../../../test/helpers/lockout-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { auditedEmail } from './auth-audit.ts';

describe('what login.failed keeps of the email typed', () => {
  it('keeps a known account address, redacts an unknown one, drops anything else', () => {
    assert.equal(auditedEmail(' ADA@acme.test', 'ada@acme.test'), 'ada@acme.test');
    assert.equal(auditedEmail('nobody@Example.COM ', undefined), 'n***@example.com');
    for (const typed of ['correct horse battery staple', 'hunter2', 'p@ssw0rd', '@x.y', '']) {
      assert.equal(auditedEmail(typed, undefined), null, typed);
    }
    assert.equal(auditedEmail(`${'a'.repeat(250)}@x.org`, undefined), null);
  });
});

for (const engine of testEngines()) {
  describe(`login.failed in the trail (${engine})`, () => {
    it('never stores a password typed into the email field', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await test.member('ada@acme.test', 'acme');
      await test.attempt(PASSWORD, PASSWORD);
      await test.attempt('ADA@acme.test', 'wrong password');
      await test.attempt('someone@elsewhere.test', 'wrong password');
      const trail = await test.send('GET', '/audit?action=login.failed&order=asc', test.platform);
      const system = (trail.body.events as { payload: { details: { email: unknown } } }[]).map(
        (e) => e.payload.details.email,
      );
      assert.deepEqual(system, [null, 's***@elsewhere.test']);
      const acme = await test.send('GET', '/audit?action=login.failed', await test.keyFor('acme'));
      const [event] = acme.body.events as { payload: { details: { email: unknown } } }[];
      assert.equal(event?.payload.details.email, 'ada@acme.test');
      const everything = JSON.stringify([trail.body, acme.body]);
      assert.ok(!everything.includes(PASSWORD));
    });
  });
}
