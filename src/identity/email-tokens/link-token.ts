import { MAX_EMAIL_TOKEN_LENGTH } from './email-token-invalid.ts';

/**
 * A page's `token` field (query or form body) as one string, '' when absent, repeated
 * or too long: a page looks up nothing it could not have issued.
 */
export function linkToken(fields: unknown): string {
  const token = (fields as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && token.length <= MAX_EMAIL_TOKEN_LENGTH ? token : '';
}
