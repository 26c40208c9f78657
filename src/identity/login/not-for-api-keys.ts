import { TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';

/**
 * The 400 for a user-only action (log out, describe me, change a password) tried with an
 * API key. Its own file because auth-service.ts and change-password.ts both refuse so.
 */
export function notForApiKeys(action: string): TesseraError {
  return new TesseraError(
    HttpErrors.bad_request,
    `An API key cannot ${action}; use a user's access token.`,
  );
}
