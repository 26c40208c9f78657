import type { Kysely } from 'kysely';
import { digestSecret, newSecret } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { EmailTokenRow, Tables } from '../../storage/tables.ts';

type TokenTables = Pick<Tables, 'email_tokens'>;

export type EmailTokenPurpose = EmailTokenRow['purpose'];

/** What a token was issued for, once it is used. */
export interface EmailTokenGrant {
  readonly user_id: string;
  readonly tenant_id: string | null;
  readonly email: string;
  readonly redirect_uri: string | null;
}

/** Why a token was refused: none had it (or it was used), or it ran out. */
export type EmailTokenOutcome =
  | { readonly ok: true; readonly grant: EmailTokenGrant }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' };

/** Readable prefixes, so a token in a log or a paste is recognisable. */
const PREFIX: Record<EmailTokenPurpose, string> = {
  verify_email: 'tsv_',
  reset_password: 'tsp_',
  magic_link: 'tsm_',
};

/**
 * Single-use tokens sent by email (migration 0012): 256 random bits, only the SHA-256
 * digest stored. Issuing one of a purpose voids the user's earlier ones of that
 * purpose (the newest email is the one that works). Using one is one DELETE ...
 * RETURNING, so of concurrent uses on any number of nodes exactly one gets it.
 */
export function createEmailTokenStore(db: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<TokenTables> = db;
  return {
    async issue(
      purpose: EmailTokenPurpose,
      grant: EmailTokenGrant,
      ttlMs: number,
    ): Promise<{ token: string; expires_ms: number }> {
      const at = now();
      await kysely
        .deleteFrom('email_tokens')
        .where('user_id', '=', grant.user_id)
        .where('purpose', '=', purpose)
        .execute();
      await kysely.deleteFrom('email_tokens').where('expires_ms', '<=', at).execute();
      const token = newSecret(PREFIX[purpose]);
      const expires_ms = at + ttlMs;
      await kysely
        .insertInto('email_tokens')
        .values({ digest: digestSecret(token), purpose, ...grant, created_ms: at, expires_ms })
        .execute();
      return { token, expires_ms };
    },

    /** Uses the token up: spent whether or not it had expired. */
    async consume(purpose: EmailTokenPurpose, token: string): Promise<EmailTokenOutcome> {
      const row = await kysely
        .deleteFrom('email_tokens')
        .where('digest', '=', digestSecret(token))
        .where('purpose', '=', purpose)
        .returning(['user_id', 'tenant_id', 'email', 'redirect_uri', 'expires_ms'])
        .executeTakeFirst();
      return outcomeOf(row, now());
    },

    /** What the token would grant, without using it (a page that only shows a button). */
    async peek(purpose: EmailTokenPurpose, token: string): Promise<EmailTokenOutcome> {
      const row = await kysely
        .selectFrom('email_tokens')
        .select(['user_id', 'tenant_id', 'email', 'redirect_uri', 'expires_ms'])
        .where('digest', '=', digestSecret(token))
        .where('purpose', '=', purpose)
        .executeTakeFirst();
      return outcomeOf(row, now());
    },

    /** Voids every token of the user (a password reset voids the rest). */
    async voidAll(userId: string): Promise<void> {
      await kysely.deleteFrom('email_tokens').where('user_id', '=', userId).execute();
    },
  };
}

function outcomeOf(
  row: (EmailTokenGrant & { expires_ms: number }) | undefined,
  nowMs: number,
): EmailTokenOutcome {
  if (!row) return { ok: false, reason: 'unknown' };
  if (Number(row.expires_ms) <= nowMs) return { ok: false, reason: 'expired' };
  const { expires_ms: _, ...grant } = row;
  return { ok: true, grant };
}

export type EmailTokenStore = ReturnType<typeof createEmailTokenStore>;
