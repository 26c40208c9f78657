import type { UserFactors } from './user-factors.ts';

/** The second-factor methods of `POST /auth/mfa/verify` (issue 18 item 4). */
export type SecondFactorMethod = 'totp' | 'recovery_code' | 'webauthn';

/**
 * The methods a user can prove a second factor with now. Recovery codes only beside a
 * factor: they are its fallback, voided with the last one.
 */
export function methodsOf(factors: UserFactors): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (factors.totp_confirmed_ms !== null) methods.push('totp');
  if (factors.passkeys.length > 0) methods.push('webauthn');
  if (methods.length > 0 && factors.recovery_codes_remaining > 0) methods.push('recovery_code');
  return methods;
}
