import { Type } from 'typebox';

/** `totp`, `recovery_code` or `webauthn` (SECOND_FACTOR_METHODS). */
export const SecondFactorMethodSchema = Type.Union([
  Type.Literal('totp'),
  Type.Literal('recovery_code'),
  Type.Literal('webauthn'),
]);

/** What a sign-in answers when a second factor is due (`MfaChallenge`). */
export const MfaChallengeSchema = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({
    description: 'Single use, short-lived: POST /api/v1/auth/mfa/verify with it and a method.',
  }),
  methods: Type.Array(SecondFactorMethodSchema, {
    description: 'The second factors the account has ready.',
  }),
  expires_in: Type.Integer({ description: 'Seconds until the mfa_token expires.' }),
});
