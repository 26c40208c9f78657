import { AccessErrors } from '../../access/errors.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import { isCustomRoleName, isRole, permissionsOf } from '../../access/roles.ts';
import { TesseraError } from '../../platform/errors.ts';
import { canonicalRoles, invalidRoles } from '../role-names.ts';
import { lockCustomRoles } from './role-service.ts';

/**
 * Built-in roles and the tenant's custom roles. Custom roles read here stay locked
 * until `trx` ends, so a role cannot be deleted (or given more permissions) between
 * the check and the assignment it allows; built-in roles cost no query.
 */
export function createRolePolicy(): RolePolicy {
  return {
    async normalize(trx, tenantId, roles) {
      const wanted = canonicalRoles(roles);
      const defined = await lockCustomRoles(trx, tenantId, wanted);
      const unknown = [...new Set(roles)].filter((role) => !isRole(role) && !defined.has(role));
      if (unknown.length > 0 || wanted.length === 0) throw invalidRoles(unknown);
      return wanted;
    },

    async checkDelegable(trx, principal, tenantId, roles) {
      const defined = await lockCustomRoles(trx, tenantId, roles.filter(isCustomRoleName));
      // What each role grants in that tenant: `admin` of the system tenant includes the
      // platform permissions; a custom role that no longer exists grants nothing.
      const beyond = roles.find((role) =>
        [...permissionsOf([role], tenantId, defined)].some(
          (permission) => !principal.permissions.has(permission),
        ),
      );
      if (beyond !== undefined) {
        throw new TesseraError(
          AccessErrors.role_not_delegable,
          `Your roles do not grant everything the ${beyond} role does.`,
          { extensions: { role: beyond } },
        );
      }
    },
  };
}
