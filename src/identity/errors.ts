import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of users, passwords, logins and sessions; documented in docs/errors.md. */
export const IdentityErrors = defineErrorCodes({
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  tenant_required: { status: 400, title: 'Tenant required' },
  membership_required: { status: 403, title: 'Membership required' },
  membership_deactivated: { status: 403, title: 'Membership deactivated' },
  registration_disabled: { status: 403, title: 'Registration disabled' },
  invitation_required: { status: 403, title: 'Invitation required' },
  refresh_token_invalid: { status: 401, title: 'Refresh token invalid' },
  refresh_token_reused: { status: 401, title: 'Refresh token reused' },
  session_revoked: { status: 401, title: 'Session revoked' },
  session_not_found: { status: 404, title: 'Session not found' },
  email_taken: { status: 409, title: 'Email already registered' },
  user_not_found: { status: 404, title: 'User not found' },
  invalid_email: { status: 400, title: 'Invalid email address' },
  weak_password: { status: 400, title: 'Password does not meet the policy' },
  identity_shared: { status: 403, title: 'Identity shared with other tenants' },
  email_token_invalid: { status: 400, title: 'Invalid or expired link' },
  email_not_verified: { status: 403, title: 'Email address not verified' },
  email_already_verified: { status: 409, title: 'Email address already verified' },
  redirect_uri_not_allowed: { status: 400, title: 'Redirect URI not allowed' },
  sign_in_expired: { status: 400, title: 'Sign-in expired' },
  sso_required: { status: 403, title: 'Sign in through SSO' },
  sso_other_tenant: { status: 403, title: 'SSO sign-in is for its own tenant' },
});
