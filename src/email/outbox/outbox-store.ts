import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { EmailOutboxRow, Tables } from '../../storage/tables.ts';

type OutboxTables = Pick<Tables, 'email_outbox'>;

/** A message as the sender takes it: claimed, with everything it needs to send. */
export interface ClaimedEmail {
  readonly id: string;
  readonly template: string;
  readonly recipient: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly message_id: string;
  /** Attempts before this one. */
  readonly attempts: number;
}

export interface OutboxStats {
  readonly queued: number;
  /** Creation time of the oldest queued message; null when none is queued. */
  readonly oldest_queued_ms: number | null;
}

export type NewOutboxRow = Pick<
  EmailOutboxRow,
  'id' | 'tenant_id' | 'template' | 'recipient' | 'subject' | 'text_body' | 'html_body'
> & { readonly message_id: string };

/** Writes a message in the caller's transaction, so it exists exactly when the change does. */
export async function insertOutboxRow(
  trx: AnyKysely,
  row: NewOutboxRow,
  nowMs: number,
): Promise<void> {
  const kysely: Kysely<OutboxTables> = trx;
  await kysely
    .insertInto('email_outbox')
    .values({ ...row, status: 'queued', next_attempt_ms: nowMs, created_ms: nowMs })
    .execute();
}

/**
 * The sender's side of the outbox (migration 0012). Every change of a row is one
 * statement that names the lease holder, so a node whose lease ran out (it stalled,
 * another node took the row) changes nothing.
 */
export function createOutboxStore(db: AnyKysely) {
  const kysely: Kysely<OutboxTables> = db;
  const claimable = (nowMs: number) =>
    kysely
      .selectFrom('email_outbox')
      .select('id')
      .where('status', '=', 'queued')
      .where('next_attempt_ms', '<=', nowMs)
      .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', nowMs)]));

  return {
    /**
     * Takes up to `limit` due messages for `owner` until `nowMs + leaseMs`: one UPDATE
     * whose WHERE repeats the claim conditions, so of nodes racing for a row (on
     * PostgreSQL the loser re-reads the row once the winner commits) exactly one gets it.
     */
    async claim(owner: string, nowMs: number, leaseMs: number, limit: number) {
      const due = claimable(nowMs).orderBy('next_attempt_ms').limit(limit);
      const rows = await kysely
        .updateTable('email_outbox')
        .set({ lease_owner: owner, lease_until_ms: nowMs + leaseMs })
        .where('id', 'in', due)
        .where('status', '=', 'queued')
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', nowMs)]))
        .returning([
          'id',
          'template',
          'recipient',
          'subject',
          'text_body',
          'html_body',
          'message_id',
          'attempts',
        ])
        .execute();
      return rows.map(
        (row): ClaimedEmail => ({
          id: row.id,
          template: row.template,
          recipient: row.recipient,
          subject: row.subject,
          text: row.text_body ?? '',
          html: row.html_body ?? '',
          message_id: row.message_id,
          attempts: Number(row.attempts),
        }),
      );
    },

    /**
     * Takes the lease afresh until `untilMs`, just before sending: false when it is no
     * longer `owner`'s (it ran out and another node claimed the row), so it is not sent.
     */
    async renew(id: string, owner: string, untilMs: number): Promise<boolean> {
      const result = await kysely
        .updateTable('email_outbox')
        .set({ lease_until_ms: untilMs })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Gives back claimed messages not sent (shutting down): any node may take them at once. */
    async release(ids: readonly string[], owner: string): Promise<void> {
      if (ids.length === 0) return;
      await kysely
        .updateTable('email_outbox')
        .set({ lease_owner: null, lease_until_ms: null })
        .where('id', 'in', ids)
        .where('status', '=', 'queued')
        .where('lease_owner', '=', owner)
        .execute();
    },

    /** Delivered: the bodies (one-time links) are dropped, the row stays for the record. */
    async sent(id: string, owner: string, nowMs: number): Promise<void> {
      await kysely
        .updateTable('email_outbox')
        .set((eb) => ({
          status: 'sent',
          text_body: null,
          html_body: null,
          attempts: eb('attempts', '+', 1),
          finished_ms: nowMs,
          lease_owner: null,
          lease_until_ms: null,
          last_error: null,
        }))
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    /** Failed this time: tried again from `nextMs`. */
    async retry(id: string, owner: string, error: string, nextMs: number): Promise<void> {
      await kysely
        .updateTable('email_outbox')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          next_attempt_ms: nextMs,
          last_error: error,
          lease_owner: null,
          lease_until_ms: null,
        }))
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    /** Given up (refused for good, or out of attempts); the bodies are dropped. */
    async failed(id: string, owner: string, error: string, nowMs: number): Promise<void> {
      await kysely
        .updateTable('email_outbox')
        .set((eb) => ({
          status: 'failed',
          text_body: null,
          html_body: null,
          attempts: eb('attempts', '+', 1),
          last_error: error,
          finished_ms: nowMs,
          lease_owner: null,
          lease_until_ms: null,
        }))
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    async stats(): Promise<OutboxStats> {
      const row = await kysely
        .selectFrom('email_outbox')
        .select((eb) => [eb.fn.countAll().as('queued'), eb.fn.min('created_ms').as('oldest')])
        .where('status', '=', 'queued')
        .executeTakeFirstOrThrow();
      return {
        queued: Number(row.queued),
        oldest_queued_ms: row.oldest === null ? null : Number(row.oldest),
      };
    },

    /** Forgets finished messages older than `beforeMs` (the table stays bounded). */
    async purge(beforeMs: number): Promise<number> {
      const result = await kysely
        .deleteFrom('email_outbox')
        .where('status', 'in', ['sent', 'failed'])
        .where('finished_ms', '<', beforeMs)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type OutboxStore = ReturnType<typeof createOutboxStore>;
