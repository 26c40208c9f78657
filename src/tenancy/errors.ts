import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of tenants and memberships; documented in docs/errors.md. */
export const TenancyErrors = defineErrorCodes({
  tenant_exists: { status: 409, title: 'Tenant already exists' },
  tenant_not_found: { status: 404, title: 'Tenant not found' },
  tenant_protected: { status: 409, title: 'Tenant is protected' },
  invalid_tenant: { status: 400, title: 'Invalid tenant' },
  invalid_roles: { status: 400, title: 'Invalid roles' },
  membership_not_found: { status: 404, title: 'Membership not found' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  member_exists: { status: 409, title: 'Already a member' },
  last_admin: { status: 409, title: 'Last administrator' },
  team_not_found: { status: 404, title: 'Team not found' },
  team_name_taken: { status: 409, title: 'Team name taken' },
  team_member_not_found: { status: 404, title: 'Team member not found' },
  invitation_not_found: { status: 404, title: 'Invitation not found' },
  invalid_redirect_uri: { status: 400, title: 'Invalid redirect URI' },
  break_glass_not_admin: { status: 400, title: 'Break-glass user is not an administrator' },
  break_glass_required: { status: 400, title: 'Break-glass administrator required' },
  sso_not_configured: { status: 409, title: 'No enabled SSO connection' },
  invitation_login_required: { status: 401, title: 'Sign in to accept this invitation' },
  registration_unavailable: { status: 503, title: 'Registration unavailable' },
});
