import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';

/**
 * The one answer to a link that does not work, whatever the reason (unknown, used,
 * expired, replaced, the address changed): the reason is for the audit trail only.
 */
export function emailTokenInvalid(): TesseraError {
  return new TesseraError(
    IdentityErrors.email_token_invalid,
    'This link is unknown, used already, expired, or no longer matches the account; ask for a new email.',
  );
}

/** Longer than any token we issue; a longer one is refused without a lookup. */
export const MAX_EMAIL_TOKEN_LENGTH = 512;
