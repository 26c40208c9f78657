import type { Expression } from 'kysely';

// What identity tells of a user's second factors (issue 18): the shapes its factor
// store returns, apart from it, so tenancy and routes may name them.

/** A passkey as an administrator or its owner may see it: never its public key. */
export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly created_ms: number;
  readonly last_used_ms: number | null;
  readonly device_type: string;
  readonly backed_up: boolean;
}

/** A user's second factors, without a secret, digest or key among them. */
export interface UserFactors {
  /** When the TOTP factor was confirmed; null: none confirmed (a pending one is no factor). */
  readonly totp_confirmed_ms: number | null;
  readonly passkeys: readonly PasskeySummary[];
  /** Unused recovery codes. */
  readonly recovery_codes_remaining: number;
}

/** What a reset removed: how many of each. */
export interface FactorsRemoved {
  readonly totp: number;
  readonly recovery_codes: number;
  readonly passkeys: number;
  readonly mfa_tokens: number;
  readonly webauthn_challenges: number;
}

/** How many of a set of users hold each kind of factor. */
export interface FactorCounts {
  readonly with_totp: number;
  readonly with_passkeys: number;
  readonly with_any: number;
}

/** A set of user ids given as a query (another domain's), so counting stays in the database. */
export type UserIdSet = Expression<{ user_id: string }>;
