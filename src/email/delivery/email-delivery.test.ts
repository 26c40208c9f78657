import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AnyKysely } from '../../storage/database.ts';

for (const engine of testEngines()) {
  describe(`email delivery (${engine})`, () => {
    it('sends a message queued in a committed transaction, with the tenant-less defaults', async (t: TestContext) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const test = await buildTestApp(
        { email: { transport: 'smtp', smtp_url: sink.url, from: 'Acme <no-reply@acme.test>' } },
        engine,
      );
      t.after(() => test.close());
      await test.app.ready();
      const { mailer } = test.services.email;
      await test.db.transaction(async (trx: AnyKysely) =>
        mailer.queueIn(trx, {
          kind: 'verify_email',
          to: 'ada@example.com',
          tenantId: null,
          values: {
            link: mailer.linkTo('/auth/email/verify', 'tsv_abc'),
            expires_in: '1 day',
            name: 'Ada <b>',
          },
        }),
      );
      mailer.flush();
      const mail = await sink.waitFor('ada@example.com', 'verify_email');
      assert.match(mail.subject, /Confirm your email address for Tessera/);
      assert.match(mail.text, /Hello Ada <b>,/);
      assert.match(mail.html, /Hello Ada &lt;b&gt;,/);
      assert.match(mail.text, /\/auth\/email\/verify\?token=tsv_abc/);
      assert.match(mail.messageId, /^<[0-9a-f-]{36}@acme\.test>$/);
      assert.deepEqual(mail.parsed.from?.value, [{ address: 'no-reply@acme.test', name: 'Acme' }]);
    });

    it('queues nothing when the transaction rolls back', async (t: TestContext) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const test = await buildTestApp({ email: { transport: 'smtp', smtp_url: sink.url } }, engine);
      t.after(() => test.close());
      await test.app.ready();
      const { mailer } = test.services.email;
      await assert.rejects(
        test.db.transaction(async (trx: AnyKysely) => {
          await mailer.queueIn(trx, {
            kind: 'password_changed',
            to: 'bob@example.com',
            tenantId: null,
            values: { changed_at: 'now', ip: '' },
          });
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      mailer.flush();
      await test.db.transaction(async (trx: AnyKysely) =>
        mailer.queueIn(trx, {
          kind: 'password_changed',
          to: 'carol@example.com',
          tenantId: null,
          values: { changed_at: 'now', ip: '' },
        }),
      );
      mailer.flush();
      await sink.waitFor('carol@example.com');
      assert.equal(sink.to('bob@example.com').length, 0);
    });
  });
}
