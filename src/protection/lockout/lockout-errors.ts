import { defineErrorCodes } from '../../platform/errors.ts';

/** Failures of the lockout administration; documented in docs/errors.md. */
export const LockoutErrors = defineErrorCodes({
  lockout_not_found: { status: 404, title: 'Lockout not found' },
});
