import type { Database } from '../../src/storage/open-database.ts';

/** What `seedFactors` stored, to look for in answers that must not show it. */
export interface SeededFactors {
  readonly secret: string;
  readonly publicKeys: readonly string[];
  readonly digests: readonly string[];
}

/**
 * Gives a user what the TOTP and passkey ceremonies would leave (test setup; those routes
 * are tested in their own suites): a confirmed TOTP, `codes` recovery codes (one used),
 * two passkeys, a pending MFA sign-in and a WebAuthn challenge.
 */
export async function seedFactors(
  db: Database,
  userId: string,
  { codes = 3, at = Date.now(), tenant = 'acme' } = {},
): Promise<SeededFactors> {
  const secret = `sealed-secret-of-${userId}`;
  await db.kysely
    .insertInto('totp_factors')
    .values({ user_id: userId, secret, confirmed_ms: at, last_step: null, created_ms: at })
    .execute();
  const digests = Array.from({ length: codes + 1 }, (_, i) => `code-digest-${userId}-${i}`);
  await db.kysely
    .insertInto('recovery_codes')
    .values(
      digests.map((digest, i) => ({
        user_id: userId,
        digest,
        created_ms: at,
        used_ms: i === codes ? at : null,
      })),
    )
    .execute();
  const publicKeys = [`cose-key-${userId}-1`, `cose-key-${userId}-2`];
  await db.kysely
    .insertInto('passkeys')
    .values(
      publicKeys.map((key, i) => ({
        id: `cred-${userId}-${i + 1}`,
        user_id: userId,
        tenant_id: null,
        name: `Key ${i + 1}`,
        public_key: key,
        counter: 0,
        device_type: i === 0 ? 'singleDevice' : 'multiDevice',
        backed_up: i,
        aaguid: null,
        created_ms: at + i,
        last_used_ms: i === 0 ? null : at + 10,
      })),
    )
    .execute();
  await db.kysely
    .insertInto('mfa_tokens')
    .values({
      digest: `mfa-token-digest-${userId}`,
      user_id: userId,
      tenant_id: tenant,
      amr: '["pwd"]',
      ip: null,
      user_agent: null,
      created_ms: at,
      expires_ms: at + 300_000,
    })
    .execute();
  await db.kysely
    .insertInto('webauthn_challenges')
    .values({
      id: `challenge-${userId}`,
      challenge: `challenge-bytes-${userId}`,
      purpose: 'register',
      user_id: userId,
      session_id: null,
      mfa_token_digest: null,
      created_ms: at,
      expires_ms: at + 300_000,
    })
    .execute();
  return { secret, publicKeys, digests };
}

const FACTOR_TABLES = [
  'totp_factors',
  'recovery_codes',
  'passkeys',
  'mfa_tokens',
  'webauthn_challenges',
] as const;

/** How many rows each factor table holds for the user. */
export async function factorRows(db: Database, userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of FACTOR_TABLES) {
    const rows = await db.kysely
      .selectFrom(table)
      .select('user_id')
      .where('user_id', '=', userId)
      .execute();
    counts[table] = rows.length;
  }
  return counts;
}
