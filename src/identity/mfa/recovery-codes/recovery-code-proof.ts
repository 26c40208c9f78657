import type { SignInProof } from '../../sessions/sign-in-proof.ts';

/**
 * A recovery code proved: RFC 8176 has no value of its own for it; it is a one-time
 * password (`otp`) and counts as the second factor.
 */
export const RECOVERY_CODE_PROOF: SignInProof = Object.freeze({
  amr: ['otp'],
  secondFactor: true,
});
