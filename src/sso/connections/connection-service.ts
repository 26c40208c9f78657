import type { Actor } from '../../access/actor.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { LockTenant } from '../../identity/tenancy-port.ts';
import type { SecretSealer } from '../../identity/tokens/secret-sealer.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { SsoErrors } from '../errors.ts';
import { FederationRefused, OIDC_CLAIM_DEFAULTS } from '../federated-identity.ts';
import type { OidcFederation } from '../oidc/oidc-federation.ts';
import type { ConnectionChanges, ConnectionInput } from './connection-input.ts';
import type { ConnectionSettings, SsoConnection } from './connection-record.ts';
import {
  invalidConnection,
  mappingOf,
  normalizeDomains,
  oidcSettingsOf,
  samlSettingsOf,
} from './connection-rules.ts';
import { createConnectionStore } from './connection-store.ts';

export type { SsoConnection } from './connection-record.ts';

export interface ConnectionServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  /** What role names mean in the tenant, and "no stronger than the caller" (tenancy's). */
  readonly roles: RolePolicy;
  /** Tenancy's: serializes the count of a tenant's connections with the insert it bounds. */
  readonly lockTenant: LockTenant;
  /** Tenancy's: the ids among these that name no team of the tenant. */
  readonly missingTeams: (
    on: AnyKysely,
    tenantId: string,
    ids: readonly string[],
  ) => Promise<string[]>;
  readonly sealer: SecretSealer;
  /** Reads an issuer's discovery document before a connection is saved. */
  readonly oidc: Pick<OidcFederation, 'discover' | 'forget'>;
  readonly maxConnectionsPerTenant: number;
  readonly allowInsecureUrls: boolean;
  readonly now?: () => number;
}

function notFound(): TesseraError {
  return new TesseraError(
    SsoErrors.sso_connection_not_found,
    'This tenant has no SSO connection with that id.',
  );
}

/** What the trail keeps of a connection: its settings, never the client secret. */
function auditDetails(connection: SsoConnection): Record<string, unknown> {
  return {
    type: connection.type,
    name: connection.name,
    enabled: connection.enabled,
    domains: connection.domains,
    issuer: connection.oidc?.issuer,
    idp_entity_id: connection.saml?.idp_entity_id,
    trusted: connection.trusted,
    idp_initiated: connection.idp_initiated,
    jit: connection.mapping.jit,
    default_roles: connection.mapping.default_roles,
    groups: connection.mapping.groups.length,
  };
}

/**
 * A tenant's SSO connections (`/sso/connections`). A connection can sign anyone in as
 * any member of its tenant, by the addresses its IdP asserts: so only a caller who
 * could grant every role of the tenant (an admin) may add or change one, and its
 * mapping grants no role stronger than theirs.
 */
export function createConnectionService(deps: ConnectionServiceDeps) {
  const { db, audit, roles, sealer } = deps;
  const now = deps.now ?? Date.now;
  const storeOn = (on: AnyKysely) => createConnectionStore(on, now);
  const entry = (actor: Actor, action: string, connection: SsoConnection): AuditEntry => ({
    tenant_id: actor.principal.tenantId,
    action,
    target: `sso_connection:${connection.id}`,
    outcome: 'success',
    details: auditDetails(connection),
  });

  async function mayManage(trx: AnyKysely, actor: Actor): Promise<void> {
    await roles.checkDelegable(trx, actor.principal, actor.principal.tenantId, ['admin']);
  }

  /**
   * The discovery document must answer for the issuer given, before anything is saved
   * (read outside any transaction: the IdP may take seconds).
   */
  async function discoverable(
    oidc: ConnectionSettings['oidc'],
    id: string,
    secret: string,
    input: Omit<ConnectionInput, 'type'>,
  ) {
    if (!oidc) return;
    try {
      await deps.oidc.discover({
        id,
        settings: oidc,
        clientSecret: secret,
        claimNames: { ...OIDC_CLAIM_DEFAULTS, ...input.mapping?.claims },
      });
    } catch (error) {
      if (!(error instanceof FederationRefused)) throw error;
      throw new TesseraError(
        SsoErrors.sso_discovery_failed,
        `The issuer's discovery document could not be used: ${error.message}`,
      );
    }
  }

  /** The protocol's settings, checked (no database, no network). */
  function protocolOf(type: SsoConnection['type'], input: Omit<ConnectionInput, 'type'>) {
    const protocol =
      type === 'oidc'
        ? { oidc: input.oidc && oidcSettingsOf(input.oidc, deps.allowInsecureUrls), saml: null }
        : { oidc: null, saml: input.saml && samlSettingsOf(input.saml, deps.allowInsecureUrls) };
    if (!protocol.oidc && !protocol.saml) {
      throw invalidConnection(`/${type}`, `a ${type} connection needs its ${type} settings`);
    }
    return { oidc: protocol.oidc ?? null, saml: protocol.saml ?? null };
  }

  /** Everything else, in the transaction that saves it: roles and teams are the tenant's. */
  async function settingsOf(
    trx: AnyKysely,
    actor: Actor,
    type: SsoConnection['type'],
    protocol: Pick<ConnectionSettings, 'oidc' | 'saml'>,
    input: Omit<ConnectionInput, 'type'>,
  ): Promise<ConnectionSettings> {
    return {
      name: input.name.trim(),
      enabled: input.enabled ?? true,
      ...protocol,
      domains: normalizeDomains(input.domains ?? []),
      mapping: await mappingOf(trx, input.mapping, type, {
        principal: actor.principal,
        roles,
        missingTeams: deps.missingTeams,
      }),
      trusted: input.trusted ?? false,
      idp_initiated: type === 'saml' && (input.idp_initiated ?? false),
    };
  }

  async function claim(trx: AnyKysely, connection: SsoConnection, domains: readonly string[]) {
    const claimed = await storeOn(trx).claimDomains(connection.tenant_id, connection.id, domains);
    if (!claimed.ok) {
      throw new TesseraError(
        SsoErrors.sso_domain_taken,
        `The domain ${claimed.domain} is claimed by another SSO connection already.`,
        { extensions: { domain: claimed.domain } },
      );
    }
  }

  function limitReached(count: number): TesseraError {
    const limit = deps.maxConnectionsPerTenant;
    return new TesseraError(
      SsoErrors.sso_connection_limit_reached,
      `This tenant has ${count} SSO connections, the most it may have (${limit}); delete one first.`,
      { extensions: { limit } },
    );
  }

  return {
    async create(actor: Actor, input: ConnectionInput): Promise<SsoConnection> {
      const tenantId = actor.principal.tenantId;
      const secret = input.oidc?.client_secret;
      const protocol = protocolOf(input.type, input);
      if (input.type === 'oidc' && !secret) {
        throw invalidConnection(
          '/oidc/client_secret',
          'an OIDC connection needs its client secret',
        );
      }
      await discoverable(protocol.oidc, 'new', secret ?? '', input);
      const created = await db.transaction(async (trx: AnyKysely) => {
        await mayManage(trx, actor);
        const settings = await settingsOf(trx, actor, input.type, protocol, input);
        const connections = storeOn(trx);
        await deps.lockTenant(trx, tenantId);
        const count = await connections.count(tenantId);
        if (count >= deps.maxConnectionsPerTenant) throw limitReached(count);
        const made = await connections.create(
          tenantId,
          input.type,
          settings,
          (id) => (secret ? sealer.seal(id, secret) : null),
          actor.principal.userId,
        );
        await claim(trx, made, settings.domains);
        const connection = { ...made, domains: settings.domains };
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'sso.connection_created', connection),
        ]);
        return connection;
      });
      return created;
    },

    async list(actor: Actor, page: { after?: string | undefined; limit: number }) {
      return storeOn(db.kysely).list(actor.principal.tenantId, page);
    },

    async get(actor: Actor, id: string): Promise<SsoConnection> {
      const found = await storeOn(db.kysely).get(actor.principal.tenantId, id);
      if (!found) throw notFound();
      return found;
    },

    async update(actor: Actor, id: string, changes: ConnectionChanges): Promise<SsoConnection> {
      const tenantId = actor.principal.tenantId;
      const read = await storeOn(db.kysely).findWithSecret(id);
      if (!read || read.connection.tenant_id !== tenantId) throw notFound();
      const was = read.connection;
      const merged: Omit<ConnectionInput, 'type'> = {
        name: changes.name ?? was.name,
        enabled: changes.enabled ?? was.enabled,
        domains: changes.domains ?? was.domains,
        trusted: changes.trusted ?? was.trusted,
        idp_initiated: changes.idp_initiated ?? was.idp_initiated,
        mapping: changes.mapping ?? was.mapping,
        oidc: changes.oidc ?? (was.oidc ? { ...was.oidc } : undefined),
        saml: changes.saml ?? (was.saml ? { ...was.saml } : undefined),
      };
      const protocol = protocolOf(was.type, merged);
      const newSecret = changes.oidc?.client_secret;
      if (changes.oidc) {
        const secret =
          newSecret ?? (read.secret_box === null ? '' : sealer.open(id, read.secret_box));
        await discoverable(protocol.oidc, id, secret, merged);
      }
      const updated = await db.transaction(async (trx: AnyKysely) => {
        await mayManage(trx, actor);
        const connections = storeOn(trx);
        const before = await connections.get(tenantId, id);
        if (!before) throw notFound();
        const settings = await settingsOf(trx, actor, before.type, protocol, merged);
        await connections.update(
          tenantId,
          id,
          settings,
          newSecret === undefined ? undefined : sealer.seal(id, newSecret),
        );
        await claim(trx, before, settings.domains);
        const after = (await connections.get(tenantId, id)) as SsoConnection;
        await audit.inTransaction(trx, actor.audit, [
          {
            ...entry(actor, 'sso.connection_updated', after),
            details: {
              ...auditDetails(after),
              changed: Object.keys(changes).sort(),
              secret_changed: newSecret !== undefined,
            },
          },
        ]);
        return after;
      });
      deps.oidc.forget(id);
      return updated;
    },

    async remove(actor: Actor, id: string): Promise<void> {
      const tenantId = actor.principal.tenantId;
      await db.transaction(async (trx: AnyKysely) => {
        await mayManage(trx, actor);
        const connections = storeOn(trx);
        const found = await connections.get(tenantId, id);
        if (!found || !(await connections.delete(tenantId, id))) throw notFound();
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'sso.connection_deleted', found),
        ]);
      });
      deps.oidc.forget(id);
    },
  };
}

export type ConnectionService = ReturnType<typeof createConnectionService>;
