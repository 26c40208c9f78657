import { createServer } from 'node:net';
import type { Kysely, Selectable } from 'kysely';
import type { Config } from '../../src/config/schema.ts';
import type { EmailRequest } from '../../src/email/mailer.ts';
import type { Services } from '../../src/services.ts';
import type { AnyKysely } from '../../src/storage/database.ts';
import type { Database } from '../../src/storage/open-database.ts';
import type { EmailOutboxRow, Tables } from '../../src/storage/tables.ts';
import type { DeepPartial } from './app.ts';

/**
 * Email settings for delivery tests: SMTP to `url`, and waits short enough that a
 * retry or a poll takes milliseconds (tests wait for outcomes, never for time).
 */
export function smtpTo(url: string, more: DeepPartial<Config['email']> = {}) {
  return {
    email: {
      transport: 'smtp' as const,
      smtp_url: url,
      poll_interval_ms: 20,
      retry_base_ms: 20,
      retry_max_ms: 100,
      smtp_timeout_ms: 5000,
      ...more,
    },
  };
}

/** What a flow does: queue in a committed transaction, then wake this node's sender. */
export async function queueEmail(
  node: { readonly db: Database; readonly services: Services },
  request: Partial<EmailRequest> & Pick<EmailRequest, 'to'>,
): Promise<void> {
  const { mailer } = node.services.email;
  await node.db.transaction((trx: AnyKysely) =>
    mailer.queueIn(trx, {
      kind: 'verify_email',
      tenantId: null,
      values: { link: mailer.linkTo('/auth/email/verify', 'tsv_test'), expires_in: '1 day' },
      ...request,
    }),
  );
  mailer.flush();
}

export type OutboxRow = Selectable<EmailOutboxRow>;

/** Every outbox row, read directly (what no API shows). */
export async function outboxRows(db: Database): Promise<OutboxRow[]> {
  const kysely: Kysely<Pick<Tables, 'email_outbox'>> = db.kysely;
  return kysely.selectFrom('email_outbox').selectAll().orderBy('created_ms').execute();
}

/** The outbox row sent to `recipient`. */
export async function outboxRowTo(db: Database, recipient: string): Promise<OutboxRow> {
  const row = (await outboxRows(db)).find((candidate) => candidate.recipient === recipient);
  if (!row) throw new Error(`no outbox row to ${recipient}`);
  return row;
}

/** A TCP port nothing listens on (just now): where an SMTP server is down. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
