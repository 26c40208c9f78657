import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of authentication and authorisation; documented in docs/errors.md. */
export const AccessErrors = defineErrorCodes({
  api_key_invalid: { status: 401, title: 'API key invalid' },
  api_key_revoked: { status: 401, title: 'API key revoked' },
  api_key_expired: { status: 401, title: 'API key expired' },
  api_key_creator_gone: { status: 401, title: 'API key creator gone' },
  api_key_not_found: { status: 404, title: 'API key not found' },
  role_not_delegable: { status: 403, title: 'Role not delegable' },
  permission_not_delegable: { status: 403, title: 'Permission not delegable' },
  role_exists: { status: 409, title: 'Role already exists' },
  role_not_found: { status: 404, title: 'Role not found' },
  role_builtin: { status: 403, title: 'Built-in role' },
  role_in_use: { status: 409, title: 'Role in use' },
  permission_denied: { status: 403, title: 'Permission denied' },
  tenant_suspended: { status: 403, title: 'Tenant suspended' },
});
