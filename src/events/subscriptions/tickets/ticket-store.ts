import { type Kysely, sql } from 'kysely';
import type { TicketCredential, TicketGrant } from '../../../access/ticket-grant.ts';
import type { Database } from '../../../storage/open-database.ts';
import type { Tables } from '../../../storage/tables.ts';

type TicketTables = Pick<Tables, 'subscription_tickets'>;

export interface TicketStore {
  /**
   * Stores a ticket's digest unless its credential already holds `maxLive` live
   * tickets (false then); deletes expired tickets first, so the table holds only live
   * ones. The count and the insert are one statement: concurrent requests of one
   * credential can pass the cap by at most their number, never without bound.
   */
  insert(
    digest: string,
    grant: TicketGrant,
    expiresMs: number,
    nowMs: number,
    maxLive: number,
  ): Promise<boolean>;
  /**
   * Deletes the ticket and returns what it grants, if it exists and has not expired:
   * one statement, so of any number of concurrent uses on any number of nodes,
   * exactly one gets it.
   */
  consume(digest: string, nowMs: number): Promise<TicketGrant | undefined>;
}

export function createTicketStore(db: Database): TicketStore {
  const kysely: Kysely<TicketTables> = db.kysely;
  return {
    async insert(digest, grant, expiresMs, nowMs, maxLive) {
      const { credential } = grant;
      const held = credential.kind === 'session' ? credential.sessionId : credential.digest;
      await kysely.deleteFrom('subscription_tickets').where('expires_ms', '<=', nowMs).execute();
      const live = kysely
        .selectFrom('subscription_tickets')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('credential', '=', held)
        .where('credential_kind', '=', credential.kind)
        .where('expires_ms', '>', nowMs);
      const inserted = await kysely
        .insertInto('subscription_tickets')
        .columns(['digest', 'tenant_id', 'credential_kind', 'credential', 'user_id', 'expires_ms'])
        .expression(
          kysely
            .selectNoFrom([
              sql<string>`${digest}`.as('digest'),
              sql<string>`${grant.tenantId}`.as('tenant_id'),
              sql<string>`${credential.kind}`.as('credential_kind'),
              sql<string>`${held}`.as('credential'),
              sql<string | null>`${credential.kind === 'session' ? credential.userId : null}`.as(
                'user_id',
              ),
              sql<number>`CAST(${expiresMs} AS bigint)`.as('expires_ms'),
            ])
            .where(sql<number>`(${live})`, '<', maxLive),
        )
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async consume(digest, nowMs) {
      const row = await kysely
        .deleteFrom('subscription_tickets')
        .where('digest', '=', digest)
        .returning(['tenant_id', 'credential_kind', 'credential', 'user_id', 'expires_ms'])
        .executeTakeFirst();
      // Deleted either way: an expired ticket is spent too.
      if (!row || Number(row.expires_ms) <= nowMs) return undefined;
      const credential: TicketCredential =
        row.credential_kind === 'session'
          ? { kind: 'session', sessionId: row.credential, userId: row.user_id ?? '' }
          : { kind: 'api_key', digest: row.credential };
      return { tenantId: row.tenant_id, credential };
    },
  };
}
