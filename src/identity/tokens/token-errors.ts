import { defineErrorCodes } from '../../platform/errors.ts';

/**
 * Why an access token was refused; all 401 (RFC 6750 §3.1 "invalid_token"). Distinct
 * codes help a client tell "refresh and retry" (expired) from "this was never ours".
 * Documented in docs/errors.md.
 */
export const TokenErrors = defineErrorCodes({
  token_malformed: { status: 401, title: 'Malformed access token' },
  token_algorithm_rejected: { status: 401, title: 'Access token algorithm rejected' },
  token_signature_invalid: { status: 401, title: 'Access token signature invalid' },
  token_expired: { status: 401, title: 'Access token expired' },
  token_issuer_invalid: { status: 401, title: 'Access token issuer invalid' },
  token_audience_invalid: { status: 401, title: 'Access token audience invalid' },
});
