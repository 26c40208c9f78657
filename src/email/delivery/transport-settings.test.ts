import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { simpleParser } from 'mailparser';
import { buildTestApp, captureLogs, type DeepPartial } from '../../../test/helpers/app.ts';
import { outboxRowTo, queueEmail, smtpTo } from '../../../test/helpers/email-fixture.ts';
import { startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import type { Config } from '../../config/schema.ts';
import type { Engine } from '../../storage/database.ts';

async function started(
  t: TestContext,
  engine: Engine,
  config: DeepPartial<Config>,
  logs = captureLogs(),
) {
  const test = await buildTestApp(config, engine, { logger: logs.logger });
  t.after(() => test.close());
  await test.app.ready();
  return { test, logs };
}

for (const engine of testEngines()) {
  describe(`email transports and their settings (${engine})`, () => {
    it('logs in with the credentials of smtp_url, percent-decoded', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const url = `smtp://ada%40corp:p%C3%A4ss%3Aw%2F@127.0.0.1:${sink.port}`;
      const { test } = await started(
        t,
        engine,
        smtpTo(url, { smtp_user: 'ignored', smtp_password: 'ignored' }),
      );
      await queueEmail(test, { to: 'one@example.com' });
      const mail = await sink.waitFor('one@example.com');
      assert.deepEqual(mail.auth, { username: 'ada@corp', password: 'päss:w/' });
    });

    it('logs in with smtp_user and smtp_password when the URL has none', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const { test } = await started(
        t,
        engine,
        smtpTo(sink.url, { smtp_user: 'mailer', smtp_password: 's3cret pass' }),
      );
      await queueEmail(test, { to: 'two@example.com' });
      const mail = await sink.waitFor('two@example.com');
      assert.deepEqual(mail.auth, { username: 'mailer', password: 's3cret pass' });
    });

    it('with smtp_require_tls, sends nothing to a server without STARTTLS, and keeps retrying', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const { test } = await started(
        t,
        engine,
        smtpTo(sink.url, { smtp_require_tls: true, smtp_user: 'u', smtp_password: 'p' }),
        captureLogs('warn'),
      );
      await queueEmail(test, { to: 'secret@example.com' });
      await until(
        async () => (await outboxRowTo(test.db, 'secret@example.com')).attempts >= 2,
        'two attempts failed',
      );
      const row = await outboxRowTo(test.db, 'secret@example.com');
      assert.equal(row.status, 'queued');
      assert.match(String(row.last_error), /STARTTLS|TLS/);
      assert.notEqual(row.text_body, null, 'kept to be sent once TLS works');
      assert.equal(sink.messages.length, 0);
    });

    it('refuses to start with transport "smtp" and no smtp_url', async () => {
      await assert.rejects(
        buildTestApp({ email: { transport: 'smtp', smtp_url: '' } }, engine),
        /email\.transport is "smtp" but email\.smtp_url is empty/,
      );
    });

    it('with the log transport, writes whole messages to the log and warns at start', async (t) => {
      const { test, logs } = await started(t, engine, {
        email: { transport: 'log', from: 'Acme <no-reply@acme.test>' },
      });
      assert.ok(
        logs.lines.some(
          (line) =>
            line.level === 40 && /email\.transport is "log".*never sent/.test(String(line.msg)),
        ),
        'a warning at start',
      );
      await queueEmail(test, {
        to: 'dev@example.com',
        values: { link: 'https://x.test/v?token=tsv_log', expires_in: '1 day', name: 'Dev' },
      });
      await until(
        () => logs.lines.some((line) => String(line.msg).startsWith('email (log transport)')),
        'the message is logged',
      );
      const logged = logs.lines.find((line) =>
        String(line.msg).startsWith('email (log transport)'),
      );
      const email = logged?.email as {
        to: string;
        template: string;
        message_id: string;
        raw: string;
      };
      assert.equal(email.to, 'dev@example.com');
      assert.equal(email.template, 'verify_email');
      const parsed = await simpleParser(email.raw);
      assert.equal(parsed.messageId, email.message_id);
      assert.deepEqual(parsed.from?.value, [{ address: 'no-reply@acme.test', name: 'Acme' }]);
      assert.deepEqual(parsed.headers.get('x-tessera-template'), 'verify_email');
      assert.match(parsed.subject ?? '', /Confirm your email address/);
      assert.match(parsed.text ?? '', /Hello Dev,[\s\S]*https:\/\/x\.test\/v\?token=tsv_log/);
      assert.match(String(parsed.html), /href="https:\/\/x\.test\/v\?token=tsv_log"/);
      await until(
        async () => (await outboxRowTo(test.db, 'dev@example.com')).status === 'sent',
        'the row says sent',
      );
    });
  });
}
