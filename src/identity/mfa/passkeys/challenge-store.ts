import type { Kysely } from 'kysely';
import { newId } from '../../../platform/secrets.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';

type ChallengeTables = Pick<Tables, 'webauthn_challenges'>;

/**
 * What started a ceremony, and so what may finish it: the user and session that
 * registers a passkey, the session stepping up, the login (its mfa_token's digest)
 * awaiting a second factor, or nothing at all for a usernameless login.
 */
export type ChallengeBinding =
  | { readonly purpose: 'register'; readonly userId: string; readonly sessionId: string }
  | { readonly purpose: 'login' }
  | { readonly purpose: 'second_factor'; readonly userId: string; readonly sessionId: string }
  | { readonly purpose: 'second_factor'; readonly userId: string; readonly mfaTokenDigest: string };

/**
 * WebAuthn challenges (migration 0013), single-use and short-lived (WebAuthn Level 2
 * §13.4.3: a challenge must be used once). A response names its challenge in its
 * clientDataJSON; `consume` deletes the one row with that challenge, purpose and
 * binding and returns whether it existed and was live: one DELETE ... RETURNING, so of
 * two concurrent uses exactly one gets it, on any node, and a challenge issued for one
 * purpose or caller never matches another's.
 */
export function createChallengeStore(db: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<ChallengeTables> = db;
  return {
    async issue(challenge: string, binding: ChallengeBinding, ttlMs: number): Promise<void> {
      const at = now();
      // Expired ones of anybody's go as new ones are made: the table stays small.
      await kysely.deleteFrom('webauthn_challenges').where('expires_ms', '<=', at).execute();
      await kysely
        .insertInto('webauthn_challenges')
        .values({
          id: newId(),
          challenge,
          purpose: binding.purpose,
          user_id: 'userId' in binding ? binding.userId : null,
          session_id: 'sessionId' in binding ? binding.sessionId : null,
          mfa_token_digest: 'mfaTokenDigest' in binding ? binding.mfaTokenDigest : null,
          created_ms: at,
          expires_ms: at + ttlMs,
        })
        .execute();
    },

    async consume(challenge: string, binding: ChallengeBinding): Promise<boolean> {
      let query = kysely
        .deleteFrom('webauthn_challenges')
        .where('challenge', '=', challenge)
        .where('purpose', '=', binding.purpose);
      // Every binding column must match, null included: a login's challenge is nobody's.
      query =
        'userId' in binding
          ? query.where('user_id', '=', binding.userId)
          : query.where('user_id', 'is', null);
      query =
        'sessionId' in binding
          ? query.where('session_id', '=', binding.sessionId)
          : query.where('session_id', 'is', null);
      query =
        'mfaTokenDigest' in binding
          ? query.where('mfa_token_digest', '=', binding.mfaTokenDigest)
          : query.where('mfa_token_digest', 'is', null);
      const row = await query.returning('expires_ms').executeTakeFirst();
      return row !== undefined && row.expires_ms > now();
    },
  };
}

export type ChallengeStore = ReturnType<typeof createChallengeStore>;
