import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';

// RFC 5321 §4.5.3.1: at most 64 octets before the @ and 254 for a usable address.
const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@]+$/u;
const EMAIL_MAX_LENGTH = 254;

/** Emails are compared trimmed and lower-cased; throws 400 `invalid_email` when malformed. */
export function normalizeEmail(email: string): string {
  const normalized = email.normalize('NFC').trim().toLowerCase();
  if (normalized.length > EMAIL_MAX_LENGTH || !EMAIL_SHAPE.test(normalized)) {
    throw new TesseraError(IdentityErrors.invalid_email, `"${email}" is not an email address`);
  }
  return normalized;
}
