import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of email delivery settings and templates; documented in docs/errors.md. */
export const EmailErrors = defineErrorCodes({
  email_not_configured: { status: 503, title: 'Email not configured' },
  invalid_template: { status: 400, title: 'Invalid email template' },
  template_not_found: { status: 404, title: 'Email template not found' },
});
