import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of tenants and memberships; documented in docs/errors.md. */
export const TenancyErrors = defineErrorCodes({
  tenant_exists: { status: 409, title: 'Tenant already exists' },
  tenant_not_found: { status: 404, title: 'Tenant not found' },
  tenant_protected: { status: 409, title: 'Tenant is protected' },
  invalid_tenant: { status: 400, title: 'Invalid tenant' },
  invalid_roles: { status: 400, title: 'Invalid roles' },
  membership_not_found: { status: 404, title: 'Membership not found' },
});
