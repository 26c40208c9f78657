import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import { checkPasswordPolicy } from './passwords.ts';

/**
 * Throws 400 `weak_password` naming every problem at `/password`. Moved out of
 * auth-service.ts because both sign-up (register-user.ts) and a password change
 * (change-password.ts) hold a new password to the policy.
 */
export function requireStrongPassword(password: string, minLength: number): void {
  const problems = checkPasswordPolicy(password, minLength);
  if (problems.length > 0) {
    throw new TesseraError(IdentityErrors.weak_password, problems.join('; '), {
      errors: problems.map((message) => ({ path: '/password', message })),
    });
  }
}
