import { Type } from 'typebox';
import { CUSTOM_ROLE_NAME_PATTERN } from './roles.ts';

/**
 * A role name in a request: a built-in one or any custom-shaped slug. Whether it
 * exists in the tenant is the service's answer (400 `invalid_roles`), not the schema's.
 */
export const RoleNameSchema = Type.String({
  pattern: CUSTOM_ROLE_NAME_PATTERN,
  description: 'A built-in role or one of the tenant’s custom roles (GET /api/v1/roles).',
});
