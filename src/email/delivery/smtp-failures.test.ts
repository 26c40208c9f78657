import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp, captureLogs, type TestApp } from '../../../test/helpers/app.ts';
import {
  outboxRows,
  outboxRowTo,
  queueEmail,
  smtpTo,
  unusedPort,
} from '../../../test/helpers/email-fixture.ts';
import { startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import type { Engine } from '../../storage/database.ts';

/** The value of one sample of /metrics (0 when absent). */
async function metric(test: TestApp, sample: string): Promise<number> {
  const text = (await test.app.inject({ url: '/metrics' })).body;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function app(t: TestContext, engine: Engine, url: string, logs = captureLogs('warn')) {
  const test = await buildTestApp(smtpTo(url), engine, { logger: logs.logger });
  t.after(() => test.close());
  await test.app.ready();
  return test;
}

for (const engine of testEngines()) {
  describe(`email delivery when SMTP fails (${engine})`, () => {
    it('sends what was queued while the server was down once it is back, each once', async (t) => {
      const port = await unusedPort();
      const test = await app(t, engine, `smtp://127.0.0.1:${port}`);
      const recipients = ['a@example.com', 'b@example.com', 'c@example.com'];
      for (const to of recipients) await queueEmail(test, { to });
      await until(
        async () => (await outboxRows(test.db)).every((row) => row.attempts >= 2),
        'every message failed twice while nothing listens',
      );
      const down = await outboxRows(test.db);
      assert.ok(down.every((row) => row.status === 'queued' && row.last_error !== null));

      const sink = await startSmtpSink({ port });
      t.after(() => sink.close());
      await until(
        async () => (await outboxRows(test.db)).every((row) => row.status === 'sent'),
        'every message is sent',
      );
      // A message reaches the sink before its row says sent: all have arrived by now.
      assert.deepEqual(sink.messages.map((mail) => mail.to[0]).sort(), recipients);
      for (const row of await outboxRows(test.db)) {
        assert.equal(
          sink.messages.find((m) => m.to[0] === row.recipient)?.messageId,
          row.message_id,
        );
        assert.equal(row.last_error, null);
      }
    });

    it('fails a message the server refuses for good, at once, and counts it', async (t) => {
      const sink = await startSmtpSink({ refuseWith: 550 });
      t.after(() => sink.close());
      const logs = captureLogs('warn');
      const test = await app(t, engine, sink.url, logs);
      await queueEmail(test, { to: 'gone@example.com', kind: 'verify_email' });
      await until(
        async () => (await outboxRowTo(test.db, 'gone@example.com')).status === 'failed',
        'the message is given up',
      );
      const row = await outboxRowTo(test.db, 'gone@example.com');
      assert.equal(row.attempts, 1);
      assert.match(String(row.last_error), /550/);
      assert.deepEqual([row.text_body, row.html_body], [null, null]);
      await until(
        async () =>
          (await metric(test, 'tessera_email_failed_total{template="verify_email"}')) === 1,
        'the metric counts it',
      );
      assert.equal(
        await metric(test, 'tessera_email_attempts_failed_total{template="verify_email"}'),
        1,
      );
      assert.equal(await metric(test, 'tessera_email_queue_depth'), 0);
      // Tried once: a failed row is never claimed again (see outbox-store.test.ts).
      assert.equal(sink.refusals, 1);
      assert.equal(sink.messages.length, 0);
      assert.ok(logs.lines.some((line) => line.msg === 'email: given up'));
    });

    it('retries a message the server defers, with backoff, and sends it once', async (t) => {
      const sink = await startSmtpSink({ refuseWith: 451, refuseFirst: 2 });
      t.after(() => sink.close());
      const logs = captureLogs('warn');
      const test = await app(t, engine, sink.url, logs);
      await queueEmail(test, { to: 'later@example.com', kind: 'magic_link' });
      const mail = await sink.waitFor('later@example.com', 'magic_link');
      await until(
        async () => (await outboxRowTo(test.db, 'later@example.com')).status === 'sent',
        'the row says sent',
      );
      const row = await outboxRowTo(test.db, 'later@example.com');
      assert.equal(row.attempts, 3);
      assert.equal(mail.messageId, row.message_id);
      assert.equal(sink.refusals, 2);
      assert.equal(sink.to('later@example.com').length, 1);
      const retries = logs.lines.filter((line) => line.msg === 'email: sending failed, will retry');
      assert.deepEqual(
        retries.map((line) => line.attempts),
        [1, 2],
      );
      assert.equal(
        await metric(test, 'tessera_email_attempts_failed_total{template="magic_link"}'),
        2,
      );
      // Counted once the sender hears its row was written, which may be after we read it.
      await until(
        async () => (await metric(test, 'tessera_email_sent_total{template="magic_link"}')) === 1,
        'the metric counts it',
      );
      assert.equal(await metric(test, 'tessera_email_failed_total{template="magic_link"}'), 0);
    });
  });
}
