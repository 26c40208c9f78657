import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { hashPassword } from '../login/passwords.ts';

const PASSWORD = 'correct horse battery';

for (const engine of testEngines()) {
  describe(`email links without email (${engine})`, () => {
    it('answers 503 where a flow must send email, and nothing else changes', async (t) => {
      const test = await buildTestApp({ email: { transport: 'none' } }, engine, { actAs: false });
      t.after(() => test.close());
      const send = async (url: string, body?: object, token?: string) => {
        const reply = await test.app.inject({
          method: 'POST',
          url: `/api/v1${url}`,
          ...(body === undefined ? {} : { payload: body }),
          ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
        });
        return { status: reply.statusCode, body: reply.body ? reply.json() : {} };
      };
      const user = await test.services.identity.users.createUser({
        email: 'ann@acme.test',
        password_hash: await hashPassword(PASSWORD),
      });
      await test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'unlimited' });
      await test.services.tenancy.memberships.grant('acme', user.id, ['admin']);
      const login = await send('/auth/login', { email: 'ann@acme.test', password: PASSWORD });
      const access = String(login.body.access_token);

      const verify = await send('/auth/email/verify/request', undefined, access);
      assert.equal(verify.status, 503);
      assert.equal(verify.body.code, 'email_not_configured');
      // Whether or not the account exists, the same refusal.
      const known = await send('/auth/password/forgot', { email: 'ann@acme.test' });
      const unknown = await send('/auth/password/forgot', { email: 'nobody@acme.test' });
      for (const reply of [known, unknown]) {
        assert.equal(reply.status, 503);
        assert.equal(reply.body.code, 'email_not_configured');
      }
      assert.equal(known.body.detail, unknown.body.detail);
      const tokens = await test.db.kysely.selectFrom('email_tokens').selectAll().execute();
      assert.deepEqual(tokens, []);

      // A password change needs no email: it is made, and its notice is not queued.
      const changed = await send(
        '/auth/password',
        { current_password: PASSWORD, new_password: `${PASSWORD}!` },
        access,
      );
      assert.equal(changed.status, 204);
      const outbox = await test.db.kysely.selectFrom('email_outbox').selectAll().execute();
      assert.deepEqual(outbox, []);
      // A link, had one been sent before, is still checked: none works here.
      const reset = await send('/auth/password/reset', { token: 'tsr_x', new_password: PASSWORD });
      assert.equal(reset.status, 400);
      assert.equal(reset.body.code, 'email_token_invalid');
    });
  });
}
