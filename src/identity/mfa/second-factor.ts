import type { AuditContext } from '../../access/audit-context.ts';
import type { SignInProof } from '../sessions/sign-in-proof.ts';

/**
 * The port between proving a second factor and the factors themselves (issue 18).
 * The login's second step (`POST /auth/mfa/verify`) and step-up (`POST
 * /auth/mfa/step-up`) take `{method, code | response}` and hand it to the verifier of
 * that method; TOTP, recovery codes and passkeys each implement one. A verifier
 * spends what it accepts atomically (a TOTP step, a recovery code, a challenge), so
 * of two concurrent attempts with one proof exactly one succeeds, on any node.
 */
export const SECOND_FACTOR_METHODS = ['totp', 'recovery_code', 'webauthn'] as const;
export type SecondFactorMethod = (typeof SECOND_FACTOR_METHODS)[number];

/** What a second-factor proof is checked against. */
export interface FactorAttempt {
  readonly userId: string;
  /** A TOTP code or a recovery code. */
  readonly code?: string | undefined;
  /** A WebAuthn AuthenticationResponseJSON (untrusted: the verifier checks its shape). */
  readonly response?: unknown;
  /**
   * What the attempt belongs to: at login, the mfa_token's digest; at step-up, the
   * session. A passkey's challenge must have been issued to the same.
   */
  readonly binding:
    | { readonly kind: 'login'; readonly mfaTokenDigest: string }
    | { readonly kind: 'session'; readonly sessionId: string };
}

/** A verifier's answer. A wrong proof is an outcome, not an exception: the caller counts it. */
export type FactorOutcome =
  | {
      readonly ok: true;
      /** e.g. `{amr: ['otp'], secondFactor: true}`; `['hwk']` or `['swk']` for a passkey. */
      readonly proof: SignInProof;
      /** Recorded in the audit entry beside the method (never a secret), e.g. codes left. */
      readonly detail?: Readonly<Record<string, string | number | boolean>>;
    }
  | {
      readonly ok: false;
      /** For the trail and metrics: `wrong_code`, `replayed`, `not_enrolled`, `challenge_invalid`... */
      readonly reason: string;
    };

export interface SecondFactorVerifier {
  readonly method: SecondFactorMethod;
  /** Whether the user has this method ready to use. */
  enabledFor(userId: string): Promise<boolean>;
  /** Checks and spends the proof. Throws only for malformed input (a 400) or a bug. */
  verify(attempt: FactorAttempt, context: AuditContext): Promise<FactorOutcome>;
}
