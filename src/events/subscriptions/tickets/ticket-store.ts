import type { Kysely } from 'kysely';
import type { TicketCredential, TicketGrant } from '../../../access/ticket-grant.ts';
import type { Database } from '../../../storage/open-database.ts';

interface Tables {
  subscription_tickets: {
    digest: string;
    tenant_id: string;
    credential_kind: 'session' | 'api_key';
    credential: string;
    user_id: string | null;
    expires_ms: number;
  };
}

export interface TicketStore {
  /** Stores a ticket's digest; deletes expired tickets first, so the table holds only live ones. */
  insert(digest: string, grant: TicketGrant, expiresMs: number, nowMs: number): Promise<void>;
  /**
   * Deletes the ticket and returns what it grants, if it exists and has not expired:
   * one statement, so of any number of concurrent uses on any number of nodes,
   * exactly one gets it.
   */
  consume(digest: string, nowMs: number): Promise<TicketGrant | undefined>;
}

export function createTicketStore(db: Database): TicketStore {
  const kysely: Kysely<Tables> = db.kysely;
  return {
    async insert(digest, grant, expiresMs, nowMs) {
      const { credential } = grant;
      await kysely.deleteFrom('subscription_tickets').where('expires_ms', '<=', nowMs).execute();
      await kysely
        .insertInto('subscription_tickets')
        .values({
          digest,
          tenant_id: grant.tenantId,
          credential_kind: credential.kind,
          credential: credential.kind === 'session' ? credential.sessionId : credential.digest,
          user_id: credential.kind === 'session' ? credential.userId : null,
          expires_ms: expiresMs,
        })
        .execute();
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
