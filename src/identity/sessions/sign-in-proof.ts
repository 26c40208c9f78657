/**
 * What a sign-in proved, recorded on its session (migration 0013) and carried by its
 * access tokens as `amr` and `auth_time` (RFC 8176, OpenID Connect Core §2). The guard
 * reads it for the tenant's MFA policy and step-up; enrolling a factor reads
 * `reauth_ms`.
 */
export interface SignInProof {
  /** RFC 8176 method values: `pwd`, `otp`, `hwk`, `swk`, `user`, `mfa`; `email` for a link. */
  readonly amr: readonly string[];
  /** Whether a second factor (or a multi-factor passkey) was proved now. */
  readonly secondFactor: boolean;
  /**
   * When the sign-in happened, for a session started on an earlier one's proof (the
   * OpenID Provider's single sign-on, a tenant chosen after signing in); default: now.
   */
  readonly authTimeMs?: number;
}

/** A password login with no second factor. */
export const PASSWORD_PROOF: SignInProof = Object.freeze({ amr: ['pwd'], secondFactor: false });

/** A magic link: the mailbox was proved, nothing else (no RFC 8176 value fits; `email` as others use). */
export const EMAIL_LINK_PROOF: SignInProof = Object.freeze({ amr: ['email'], secondFactor: false });

/** A session's authentication state, as the guard and the token issuer read it. */
export interface SessionAuthentication {
  readonly amr: readonly string[];
  /** When the sign-in happened (epoch ms). */
  readonly auth_time_ms: number;
  /** The last proof of a password or factor in the session (epoch ms); null: none since sign-in. */
  readonly reauth_ms: number | null;
  /** The last second-factor proof (epoch ms); null: none. */
  readonly second_factor_ms: number | null;
}

/**
 * The methods after a further proof: the union, with `mfa` once a second factor was
 * proved (RFC 8176 §2: "multiple-factor authentication"). Order kept, no duplicates.
 */
export function combinedAmr(before: readonly string[], proof: SignInProof): string[] {
  const methods = [...before, ...proof.amr];
  if (proof.secondFactor) methods.push('mfa');
  return [...new Set(methods)];
}

/** A stored `amr` column; anything unreadable reads as a password sign-in. */
export function parseAmr(stored: string | null | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(stored ?? '');
    if (Array.isArray(parsed) && parsed.every((value) => typeof value === 'string')) return parsed;
  } catch {
    // fall through
  }
  return ['pwd'];
}
