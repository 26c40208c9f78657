import { createForgotPassword, type ForgotPasswordDeps } from './forgot-password.ts';
import { createResetPassword, type ResetPasswordDeps } from './reset-password.ts';

/** A forgotten password: the email with a link (`forgot`), and the link's use (`reset`, `check`). */
export function createPasswordResetByEmail(deps: ForgotPasswordDeps & ResetPasswordDeps) {
  return { forgot: createForgotPassword(deps), ...createResetPassword(deps) };
}

export type PasswordResetByEmail = ReturnType<typeof createPasswordResetByEmail>;
