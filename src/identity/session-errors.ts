import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of sessions and refresh tokens; documented in docs/errors.md. */
export const IdentityErrors = defineErrorCodes({
  refresh_token_invalid: { status: 401, title: 'Refresh token invalid' },
  refresh_token_reused: { status: 401, title: 'Refresh token reused' },
  session_revoked: { status: 401, title: 'Session revoked' },
});
