import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { outboxRows, queueEmail, smtpTo } from '../../../test/helpers/email-fixture.ts';
import { startNodes } from '../../../test/helpers/nodes.ts';
import { startSmtpSink } from '../../../test/helpers/smtp-sink.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createOutboxStore } from '../outbox/outbox-store.ts';

for (const engine of testEngines()) {
  describe(`email delivery across senders (${engine})`, () => {
    it('takes over a message whose sender died holding it, and sends it with its Message-ID', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const test = await buildTestApp(smtpTo(sink.url), engine);
      t.after(() => test.close());
      await test.app.ready();
      const { mailer } = test.services.email;
      // Queued and claimed in one commit by a node that then dies: nothing of this
      // app's sender can see the row before it is leased to the dead one.
      const leaseMs = 300;
      let leaseUntil = 0;
      await test.db.transaction(async (trx: AnyKysely) => {
        await mailer.queueIn(trx, {
          kind: 'reset_password',
          to: 'orphan@example.com',
          tenantId: null,
          values: { link: mailer.linkTo('/auth/password/reset', 'tsr_x'), expires_in: '1 hour' },
        });
        const now = Date.now();
        const claimed = await createOutboxStore(trx).claim('dead-node', now, leaseMs, 10);
        assert.equal(claimed.length, 1);
        leaseUntil = now + leaseMs;
      });
      mailer.flush();
      const mail = await sink.waitFor('orphan@example.com', 'reset_password');
      // Never before the dead node's lease ran out.
      assert.ok(Date.now() > leaseUntil);
      await until(
        async () => (await outboxRows(test.db))[0]?.status === 'sent',
        'the row says sent',
      );
      const [row] = await outboxRows(test.db);
      assert.equal(mail.messageId, row?.message_id);
      assert.equal(row?.attempts, 1);
      assert.equal(row?.lease_owner, null);
      assert.equal(sink.messages.length, 1);
    });

    // Nodes on one SQLite file share a single writer; the race that matters is PostgreSQL's.
    if (engine !== 'postgres') return;

    it('delivers each of 20 messages exactly once with two nodes sending', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const nodes = await startNodes(t, engine, 2, smtpTo(sink.url));
      const recipients = Array.from({ length: 20 }, (_, i) => `user${i}@example.com`);
      // Half on each node, all at once: both senders wake and race for the rows.
      await Promise.all(
        recipients.map((to, i) => queueEmail(nodes[i % 2] as (typeof nodes)[number], { to })),
      );
      const db = (nodes[0] as (typeof nodes)[number]).db;
      await until(async () => {
        const rows = await outboxRows(db);
        return rows.length === 20 && rows.every((row) => row.status === 'sent');
      }, 'every message is sent');
      // A message reaches the sink before its row says sent: every send is counted.
      const ids = sink.messages.map((mail) => mail.messageId);
      assert.equal(ids.length, 20, 'messages received');
      assert.equal(new Set(ids).size, 20, 'distinct Message-IDs');
      const rows = await outboxRows(db);
      assert.deepEqual([...ids].sort(), rows.map((row) => row.message_id).sort());
      assert.deepEqual(sink.messages.map((mail) => mail.to[0]).sort(), [...recipients].sort());
      assert.ok(rows.every((row) => row.attempts === 1));
    });
  });
}
