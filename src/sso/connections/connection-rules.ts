import type { Principal } from '../../access/principal.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { SsoErrors } from '../errors.ts';
import { OIDC_CLAIM_DEFAULTS, SAML_CLAIM_DEFAULTS } from '../federated-identity.ts';
import { checkOidcSettings, type OidcSettings } from '../oidc/oidc-settings.ts';
import { parseIdpMetadata } from '../saml/idp-metadata.ts';
import { checkSamlSettings, type SamlSettings } from '../saml/saml-settings.ts';
import type { MappingInput, OidcInput, SamlInput } from './connection-input.ts';
import type { ConnectionMapping, ConnectionType } from './connection-record.ts';

export const CONNECTION_LIMITS = Object.freeze({
  domains: 20,
  groups: 100,
  rolesPerGroup: 10,
  teamsPerGroup: 20,
});

/** 400 invalid_sso_connection, naming the field. */
export function invalidConnection(path: string, message: string): TesseraError {
  return new TesseraError(SsoErrors.invalid_sso_connection, `${path}: ${message}`, {
    errors: [{ path, message }],
  });
}

const DOMAIN = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

/** Lower-case, unique, each a plain DNS name with at least two labels. */
export function normalizeDomains(domains: readonly string[]): string[] {
  const normalized = [...new Set(domains.map((domain) => domain.trim().toLowerCase()))];
  if (normalized.length > CONNECTION_LIMITS.domains) {
    throw invalidConnection('/domains', `at most ${CONNECTION_LIMITS.domains} domains`);
  }
  for (const [index, domain] of normalized.entries()) {
    if (!DOMAIN.test(domain)) {
      throw invalidConnection(`/domains/${index}`, 'must be a domain name such as example.com');
    }
  }
  return normalized.sort();
}

/** Throws whatever a protocol's settings check throws as a 400 naming the field. */
function asInvalid<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    const path = (error as { path?: unknown }).path;
    if (error instanceof Error && typeof path === 'string') {
      throw invalidConnection(path, error.message);
    }
    throw error;
  }
}

export function oidcSettingsOf(input: OidcInput, allowInsecureUrls: boolean): OidcSettings {
  const { client_secret: _secret, ...settings } = input;
  return asInvalid(() => checkOidcSettings(settings, { allowInsecureUrls }));
}

/** The IdP metadata document wins over the fields it contains; the flag is kept. */
export function samlSettingsOf(input: SamlInput, allowInsecureUrls: boolean): SamlSettings {
  const { metadata_xml, ...fields } = input;
  const fromMetadata =
    metadata_xml === undefined ? {} : asInvalid(() => parseIdpMetadata(metadata_xml));
  return asInvalid(() =>
    checkSamlSettings(
      { want_assertions_signed: true, ...fields, ...fromMetadata },
      { allowInsecureUrls },
    ),
  );
}

/**
 * The mapping with its defaults, roles normalized in the tenant and no stronger than
 * the caller's (403 role_not_delegable), teams existing in the tenant.
 */
export async function mappingOf(
  trx: AnyKysely,
  input: MappingInput | undefined,
  type: ConnectionType,
  scope: {
    readonly principal: Principal;
    readonly roles: RolePolicy;
    readonly missingTeams: (
      on: AnyKysely,
      tenantId: string,
      ids: readonly string[],
    ) => Promise<string[]>;
  },
): Promise<ConnectionMapping> {
  const tenantId = scope.principal.tenantId;
  const claims = {
    ...(type === 'oidc' ? OIDC_CLAIM_DEFAULTS : SAML_CLAIM_DEFAULTS),
    ...input?.claims,
  };
  const groupsIn = input?.groups ?? [];
  if (groupsIn.length > CONNECTION_LIMITS.groups) {
    throw invalidConnection('/mapping/groups', `at most ${CONNECTION_LIMITS.groups} groups`);
  }
  const normalize = async (roles: readonly string[] | undefined, path: string) => {
    const list = roles ?? [];
    // A group may place its members in teams only: its roles then come from the others.
    if (list.length === 0) return [];
    if (list.length > CONNECTION_LIMITS.rolesPerGroup) {
      throw invalidConnection(path, `at most ${CONNECTION_LIMITS.rolesPerGroup} roles`);
    }
    const normalized = await scope.roles.normalize(trx, tenantId, list);
    await scope.roles.checkDelegable(trx, scope.principal, tenantId, normalized);
    return normalized;
  };
  // Every member holds a role: the default when no mapped group gives one.
  const default_roles = await normalize(
    input?.default_roles ?? ['viewer'],
    '/mapping/default_roles',
  );
  if (default_roles.length === 0) {
    throw invalidConnection('/mapping/default_roles', 'at least one role');
  }
  const groups = [];
  const seen = new Set<string>();
  for (const [index, rule] of groupsIn.entries()) {
    if (seen.has(rule.group)) {
      throw invalidConnection(`/mapping/groups/${index}/group`, 'names a group twice');
    }
    seen.add(rule.group);
    const teams = [...new Set(rule.teams ?? [])];
    if (teams.length > CONNECTION_LIMITS.teamsPerGroup) {
      throw invalidConnection(
        `/mapping/groups/${index}/teams`,
        `at most ${CONNECTION_LIMITS.teamsPerGroup} teams`,
      );
    }
    const missing = await scope.missingTeams(trx, tenantId, teams);
    if (missing.length > 0) {
      throw invalidConnection(
        `/mapping/groups/${index}/teams`,
        `no team of this tenant has the id ${missing[0]}`,
      );
    }
    groups.push({
      group: rule.group,
      roles: await normalize(rule.roles, `/mapping/groups/${index}/roles`),
      teams,
    });
  }
  return { claims, jit: input?.jit ?? true, default_roles, groups };
}
