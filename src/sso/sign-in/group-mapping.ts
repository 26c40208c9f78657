import type { ConnectionMapping } from '../connections/connection-record.ts';

/**
 * What the IdP's groups give in the tenant: the roles and teams of every mapped group
 * the person is in; the default roles when none of them gives a role. `managedTeams`: every team
 * the mapping names, whose membership follows the IdP at each sign-in.
 */
export function mapGroups(mapping: ConnectionMapping, groups: readonly string[]) {
  const matched = mapping.groups.filter((rule) => groups.includes(rule.group));
  const roles =
    matched.length === 0 ? mapping.default_roles : matched.flatMap((rule) => rule.roles);
  return {
    roles: [...new Set(roles)],
    teams: [...new Set(matched.flatMap((rule) => rule.teams))],
    managedTeams: [...new Set(mapping.groups.flatMap((rule) => rule.teams))],
  };
}
