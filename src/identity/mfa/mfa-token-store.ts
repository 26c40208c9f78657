import type { Kysely } from 'kysely';
import { digestSecret, newSecret } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';
import { parseAmr } from '../sessions/sign-in-proof.ts';

type MfaTokenTables = Pick<Tables, 'mfa_tokens'>;

/** A login that proved its first factor and awaits its second. */
export interface MfaTokenGrant {
  /** The token's digest: what a passkey challenge for this login is bound to. */
  readonly digest: string;
  readonly user_id: string;
  /** The tenant the login chose; the session starts there. */
  readonly tenant_id: string;
  /** The first factor's RFC 8176 methods. */
  readonly amr: readonly string[];
  readonly ip: string | null;
  readonly user_agent: string | null;
}

export type MfaTokenOutcome =
  | { readonly ok: true; readonly grant: MfaTokenGrant }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' };

/** Recognisable in a log or a paste. */
export const MFA_TOKEN_PREFIX = 'tsf_';

/**
 * The `mfa_token` a login answers when a second factor is due (migration 0013): 256
 * random bits, only the digest stored, short-lived. Spending it is one DELETE ...
 * RETURNING, so of concurrent verifications on any number of nodes exactly one gets
 * the session. `db` is the database's Kysely or a transaction.
 */
export function createMfaTokenStore(db: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<MfaTokenTables> = db;
  const columns = [
    'digest',
    'user_id',
    'tenant_id',
    'amr',
    'ip',
    'user_agent',
    'expires_ms',
  ] as const;

  function outcomeOf(
    row: { [K in (typeof columns)[number]]: Tables['mfa_tokens'][K] } | undefined,
  ): MfaTokenOutcome {
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.expires_ms <= now()) return { ok: false, reason: 'expired' };
    const { expires_ms: _expires, amr, ...rest } = row;
    return { ok: true, grant: { ...rest, amr: parseAmr(amr) } };
  }

  return {
    async issue(
      grant: Omit<MfaTokenGrant, 'digest'>,
      ttlMs: number,
    ): Promise<{ token: string; expires_ms: number }> {
      const at = now();
      // Expired ones of anybody's go as new ones are made: the table stays small.
      await kysely.deleteFrom('mfa_tokens').where('expires_ms', '<=', at).execute();
      const token = newSecret(MFA_TOKEN_PREFIX);
      const expires_ms = at + ttlMs;
      await kysely
        .insertInto('mfa_tokens')
        .values({
          digest: digestSecret(token),
          user_id: grant.user_id,
          tenant_id: grant.tenant_id,
          amr: JSON.stringify(grant.amr),
          ip: grant.ip,
          user_agent: grant.user_agent,
          created_ms: at,
          expires_ms,
        })
        .execute();
      return { token, expires_ms };
    },

    /** What the token stands for, without spending it (a wrong code leaves it usable). */
    async peek(token: string): Promise<MfaTokenOutcome> {
      if (typeof token !== 'string' || !token.startsWith(MFA_TOKEN_PREFIX)) {
        return { ok: false, reason: 'unknown' };
      }
      const row = await kysely
        .selectFrom('mfa_tokens')
        .select(columns)
        .where('digest', '=', digestSecret(token))
        .executeTakeFirst();
      return outcomeOf(row);
    },

    /** Spends the token: whoever gets `ok` starts the session. */
    async consume(token: string): Promise<MfaTokenOutcome> {
      if (typeof token !== 'string' || !token.startsWith(MFA_TOKEN_PREFIX)) {
        return { ok: false, reason: 'unknown' };
      }
      const row = await kysely
        .deleteFrom('mfa_tokens')
        .where('digest', '=', digestSecret(token))
        .returning(columns)
        .executeTakeFirst();
      return outcomeOf(row);
    },

    /** Every pending second-factor login of the user ends (a password reset, an MFA reset). */
    async voidAllOf(userId: string): Promise<void> {
      await kysely.deleteFrom('mfa_tokens').where('user_id', '=', userId).execute();
    },
  };
}

export type MfaTokenStore = ReturnType<typeof createMfaTokenStore>;
