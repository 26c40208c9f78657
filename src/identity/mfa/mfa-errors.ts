import { defineErrorCodes } from '../../platform/errors.ts';

/** Failures of second factors, passkeys, step-up and the MFA policy; documented in docs/errors.md. */
export const MfaErrors = defineErrorCodes({
  /** Enrolling a factor needs a password or factor check within mfa.reauthentication_seconds. */
  reauthentication_required: { status: 403, title: 'Reauthentication required' },
  /** The tenant requires MFA and the user has no factor: only enrolling one is allowed. */
  mfa_enrollment_required: { status: 403, title: 'MFA enrollment required' },
  /** A sensitive operation needs a second factor within mfa.step_up_seconds. */
  step_up_required: { status: 403, title: 'Step-up authentication required' },
  /** The mfa_token is unknown, used or expired. */
  mfa_token_invalid: { status: 401, title: 'Invalid or expired MFA token' },
  /** A wrong, reused or expired TOTP code, recovery code or passkey assertion. */
  mfa_code_invalid: { status: 400, title: 'Invalid second factor' },
  /** The method is not one the user has (or not one this operation accepts). */
  mfa_method_unavailable: { status: 400, title: 'Second-factor method unavailable' },
  /** TOTP is already active: remove it first. */
  totp_already_enabled: { status: 409, title: 'TOTP already enabled' },
  /** No TOTP enrollment to confirm, or no active TOTP to remove. */
  totp_not_enabled: { status: 409, title: 'TOTP not enabled' },
  /** Recovery codes exist only beside a factor. */
  mfa_not_enabled: { status: 409, title: 'No second factor enrolled' },
  passkey_not_found: { status: 404, title: 'Passkey not found' },
  /** The passkey ceremony's challenge is unknown, used, expired or not this caller's. */
  webauthn_challenge_invalid: { status: 400, title: 'Invalid or expired passkey challenge' },
  /** The authenticator's response does not verify (origin, RP ID, signature, flags). */
  webauthn_verification_failed: { status: 400, title: 'Passkey verification failed' },
  /** This credential is already registered. */
  passkey_exists: { status: 409, title: 'Passkey already registered' },
  /** Too many passkeys for one user. */
  passkey_limit_reached: { status: 409, title: 'Passkey limit reached' },
});
