import { Type } from 'typebox';

/** What confirming TOTP and regenerating answer: the codes, this once. */
export const RecoveryCodes = Type.Object({
  recovery_codes: Type.Array(Type.String(), {
    description: 'Ten single-use codes: shown only now, stored only as digests.',
  }),
});
