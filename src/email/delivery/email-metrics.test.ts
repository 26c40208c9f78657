import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { outboxRows, queueEmail, smtpTo } from '../../../test/helpers/email-fixture.ts';
import { startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createOutboxStore, insertOutboxRow } from '../outbox/outbox-store.ts';

for (const engine of testEngines()) {
  describe(`email metrics (${engine})`, () => {
    it('shows sent emails by template, the queue depth and the oldest queued age', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const test = await buildTestApp(smtpTo(sink.url), engine);
      t.after(() => test.close());
      await test.app.ready();
      await queueEmail(test, { to: 'a@example.com' });
      await queueEmail(test, { to: 'b@example.com' });
      await queueEmail(test, {
        to: 'c@example.com',
        kind: 'password_changed',
        values: { changed_at: 'now', ip: '' },
      });
      await until(
        async () => (await outboxRows(test.db)).every((row) => row.status === 'sent'),
        'all three are sent',
      );
      // Counted once each sender hears its row was written, which may be after we read it.
      const scrape = async () => (await test.app.inject({ url: '/metrics' })).body;
      await until(
        async () =>
          (await scrape()).includes('tessera_email_sent_total{template="verify_email"} 2'),
        'both verifications are counted',
      );
      await until(
        async () =>
          (await scrape()).includes('tessera_email_sent_total{template="password_changed"} 1'),
        'the notice is counted',
      );
      // A message queued 90 s ago and held by another node (its lease is long): queued.
      const queuedAt = Date.now() - 90_000;
      await test.db.transaction(async (trx: AnyKysely) => {
        await insertOutboxRow(
          trx,
          {
            id: 'held',
            tenant_id: null,
            template: 'invitation',
            recipient: 'held@example.com',
            subject: 's',
            text_body: 't',
            html_body: 'h',
            message_id: '<held@example.com>',
          },
          queuedAt,
        );
        await createOutboxStore(trx).claim('elsewhere', Date.now(), 3_600_000, 10);
      });

      const text = await scrape();
      const value = (sample: string) => {
        const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
        assert.ok(line, `${sample} in /metrics`);
        return Number(line.split(' ')[1]);
      };
      assert.equal(value('tessera_email_sent_total{template="verify_email"}'), 2);
      assert.equal(value('tessera_email_sent_total{template="password_changed"}'), 1);
      assert.equal(value('tessera_email_queue_depth'), 1);
      const age = value('tessera_email_oldest_queued_age_seconds');
      assert.ok(age >= 90, `oldest queued age ${age}`);
      assert.match(text, /# TYPE tessera_email_failed_total counter/);
      assert.match(text, /# TYPE tessera_email_attempts_failed_total counter/);
      assert.equal(sink.messages.length, 3);
    });

    it('shows an empty queue as depth 0 and age 0', async (t) => {
      const test = await buildTestApp({ email: { transport: 'log' } }, engine);
      t.after(() => test.close());
      const text = (await test.app.inject({ url: '/metrics' })).body;
      assert.match(text, /^tessera_email_queue_depth 0$/m);
      assert.match(text, /^tessera_email_oldest_queued_age_seconds 0$/m);
    });
  });
}
