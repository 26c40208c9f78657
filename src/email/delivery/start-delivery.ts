import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../../config/schema.ts';
import type { Database } from '../../storage/open-database.ts';
import { checkEmailSettings, type Mailer } from '../mailer.ts';
import { createOutboxStore } from '../outbox/outbox-store.ts';
import { emailMetrics } from './email-metrics.ts';
import { type EmailSender, startEmailSender } from './email-sender.ts';
import { openTransport } from './transport.ts';

export interface EmailDeliveryDeps {
  readonly db: Pick<Database, 'kysely'>;
  readonly settings: Config['email'];
  readonly mailer: Mailer;
  readonly log: FastifyBaseLogger;
  readonly metrics: Registry;
}

/**
 * The server's email delivery: the transport `email.transport` names and the
 * background sender over the outbox, with its metrics. Undefined for `none`, which
 * sends nothing (and queues nothing). `log` is for local trials: it is said at start.
 */
export function startEmailDelivery(deps: EmailDeliveryDeps): EmailSender | undefined {
  const { settings, log } = deps;
  checkEmailSettings(settings);
  const transport = openTransport(settings, (raw, message) =>
    log.info(
      { email: { to: message.to, template: message.template, message_id: message.messageId, raw } },
      'email (log transport): not sent, written here',
    ),
  );
  if (!transport) return undefined;
  if (settings.transport === 'log') {
    log.warn(
      'email.transport is "log": emails, with their one-time links, are written to this log and never sent. For local trials only.',
    );
  }
  if (settings.transport === 'smtp' && settings.lease_ms <= settings.smtp_timeout_ms) {
    // A send may take longer than its lease: another node would take the message over
    // and send it a second time (same Message-ID).
    log.warn(
      { lease_ms: settings.lease_ms, smtp_timeout_ms: settings.smtp_timeout_ms },
      'email.lease_ms should be longer than email.smtp_timeout_ms',
    );
  }
  const outbox = createOutboxStore(deps.db.kysely);
  return startEmailSender({
    outbox,
    transport,
    settings,
    log,
    metrics: emailMetrics(deps.metrics, () => outbox.stats()),
    onQueued: (wake) => deps.mailer.onQueued(wake),
  });
}
