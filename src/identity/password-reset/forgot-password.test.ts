import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EmailLinkApp, emailLinkApp } from '../../../test/helpers/email-link-fixture.ts';
import { tokenFrom } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const PAGE = '/auth/password/reset';

for (const engine of testEngines()) {
  describe(`forgotten password requests (${engine})`, () => {
    let app: EmailLinkApp;
    before(async () => {
      app = await emailLinkApp(engine);
      await app.test.services.tenancy.tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
      await app.test.services.tenancy.tenants.create({
        id: 'globex',
        name: 'Globex',
        plan: 'free',
      });
      await app.test.db.kysely
        .insertInto('email_settings')
        .values({
          tenant_id: 'acme',
          branding: JSON.stringify({ product_name: 'Acme Cloud' }),
          updated_ms: Date.now(),
        })
        .execute();
    });
    after(() => app.close());

    const forgot = (email: string, tenantId?: string) =>
      app.api('POST', '/auth/password/forgot', {
        body: { email, ...(tenantId === undefined ? {} : { tenant_id: tenantId }) },
      });

    it('answers alike whether or not the account exists, is disabled or is in the tenant, and mails only a real one', async () => {
      const frank = await app.userIn('frank@acme.test', ['acme']);
      const gina = await app.userIn('gina@acme.test', ['acme']);
      await app.test.db.kysely
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', gina)
        .execute();

      const replies = [
        await forgot('nobody@acme.test'),
        await forgot('gina@acme.test'),
        await forgot('frank@acme.test', 'globex'),
        await forgot('frank@acme.test', 'no-such-tenant'),
        await forgot('frank@acme.test', 'acme'),
      ];
      const [one, ...rest] = replies.map((reply) => {
        assert.equal(reply.status, 202);
        return reply.body;
      });
      for (const body of rest) assert.deepEqual(body, one);
      // The one real request's email arriving shows the sender ran after the others.
      const mail = await app.nextMail('frank@acme.test', 'reset_password');
      assert.match(mail.subject, /Reset your Acme Cloud password/);
      assert.equal(app.sink.to('frank@acme.test').length, 1);
      assert.equal(app.sink.to('nobody@acme.test').length, 0);
      assert.equal(app.sink.to('gina@acme.test').length, 0);
      const outbox = await app.test.db.kysely
        .selectFrom('email_outbox')
        .select('recipient')
        .where('recipient', 'in', ['nobody@acme.test', 'gina@acme.test'])
        .execute();
      assert.deepEqual(outbox, []);

      const reasons = (await app.trail('system', 'password.reset_requested')).map((e) => [
        e.target,
        e.details.email,
        e.details.reason,
      ]);
      assert.deepEqual(reasons, [
        [null, 'n***@acme.test', 'unknown_email'],
        [`user:${gina}`, 'gina@acme.test', 'account_disabled'],
        [`user:${frank}`, 'frank@acme.test', 'not_a_member'],
        [`user:${frank}`, 'frank@acme.test', 'not_a_member'],
      ]);
      // Globex's administrators learn nothing of a stranger's request.
      assert.deepEqual(await app.trail('globex', 'password.reset_requested'), []);
    });

    it("brands the email as the tenant named, as the user's only tenant, else as the platform", async () => {
      await app.userIn('lea@acme.test', ['acme']);
      await app.userIn('max@acme.test', ['acme', 'globex']);
      await forgot('lea@acme.test');
      assert.match((await app.nextMail('lea@acme.test', 'reset_password')).subject, /Acme Cloud/);
      await forgot('max@acme.test');
      const platform = await app.nextMail('max@acme.test', 'reset_password');
      assert.match(platform.subject, /Reset your Tessera password/);
      await forgot('max@acme.test', 'acme');
      const named = await app.nextMail('max@acme.test', 'reset_password', 1);
      assert.match(named.subject, /Reset your Acme Cloud password/);
      // The newest link is the one that works.
      const stale = await app.api('POST', '/auth/password/reset', {
        body: {
          token: tokenFrom(platform, PAGE),
          new_password: 'new password 1',
        },
      });
      assert.equal(stale.body.code, 'email_token_invalid');
    });

    it('refuses bodies that are no request', async () => {
      for (const body of [
        {},
        { email: 7 },
        { email: 'a@b.c', tenant_id: 'Not A Tenant' },
        { email: 'a@b.c', extra: 1 },
      ]) {
        const reply = await app.api('POST', '/auth/password/forgot', { body });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.code, 'validation_failed');
      }
    });
  });
}
