import type { Actor } from '../../access/actor.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { CredentialChanges } from '../guard/credential-cache.ts';
import type { LockTenant } from '../tenancy-port.ts';
import { OAuthClientErrors } from './oauth-client-errors.ts';
import type {
  NewOAuthClient,
  OAuthClientRecord,
  OAuthClientSettings,
} from './oauth-client-record.ts';
import { CLIENT_LIMITS, checkClient } from './oauth-client-rules.ts';
import { createOAuthClientStore, type IssuedClient } from './oauth-client-store.ts';

/** What the routes render, named here so they never reach the store. */
export type { OAuthClientRecord } from './oauth-client-record.ts';
export type { IssuedClient } from './oauth-client-store.ts';

export interface OAuthClientServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  /** Told once a change commits, so no node keeps a cached copy of the client. */
  readonly changes: CredentialChanges;
  /** What role names mean in the tenant (tenancy's), and "no stronger than its creator". */
  readonly roles: RolePolicy;
  /** Tenancy's: serializes the count of a tenant's clients with the insert it bounds. */
  readonly lockTenant: LockTenant;
  /** `oauth.max_clients_per_tenant`. */
  readonly maxClientsPerTenant: number;
  /** `oauth.access_token_ttl_seconds`: for a client registered without one. */
  readonly defaultAccessTokenTtlSeconds: number;
  readonly now?: () => number;
}

/** A registration as sent: the optional settings get their defaults here. */
export type ClientRegistration = Pick<NewOAuthClient, 'name' | 'type' | 'grant_types' | 'scopes'> &
  Partial<Omit<OAuthClientSettings, 'name' | 'scopes'>>;

/** What a PATCH may change: not the type nor the grant types (see docs/oidc.md, Registering clients). */
export type ClientChanges = Partial<OAuthClientSettings>;

function notFound(): TesseraError {
  return new TesseraError(
    OAuthClientErrors.oauth_client_not_found,
    'This tenant has no OAuth client with that id.',
  );
}

/** What the trail keeps of a client: its settings, never a secret (nor a key named like one). */
function auditDetails(client: Partial<NewOAuthClient>): Record<string, unknown> {
  const { access_token_ttl_seconds, refresh_token_ttl_seconds, ...rest } = client;
  // Keys naming a token are dropped by the audit log as possible secrets: renamed.
  return {
    ...rest,
    ...(access_token_ttl_seconds === undefined
      ? {}
      : { access_ttl_seconds: access_token_ttl_seconds }),
    ...(refresh_token_ttl_seconds === undefined
      ? {}
      : { refresh_ttl_seconds: refresh_token_ttl_seconds }),
  };
}

/** The tenant's OAuth clients, for the routes: the registry's rules, delegation and audit. */
export function createOAuthClientService(deps: OAuthClientServiceDeps) {
  const { db, audit, roles } = deps;
  const now = deps.now ?? Date.now;
  const storeOn = (trx: AnyKysely) => createOAuthClientStore({ kysely: trx }, now);
  const entry = (
    actor: Actor,
    action: string,
    id: string,
    details?: Record<string, unknown>,
  ): AuditEntry => ({
    tenant_id: actor.principal.tenantId,
    action,
    target: `oauth_client:${id}`,
    outcome: 'success',
    details,
  });

  /**
   * 400 `invalid_roles` for a role the tenant lacks, 403 `role_not_delegable` for one
   * stronger than the caller: a client acts with at most what its creator may do.
   */
  async function delegable(trx: AnyKysely, actor: Actor, role: string | null) {
    if (role === null) return null;
    const tenantId = actor.principal.tenantId;
    const [known = role] = await roles.normalize(trx, tenantId, [role]);
    await roles.checkDelegable(trx, actor.principal, tenantId, [known]);
    return known;
  }

  /** The tenant's client, when the caller is no weaker than its role; else 404 or 403. */
  async function manageable(trx: AnyKysely, actor: Actor, id: string) {
    const found = await storeOn(trx).get(actor.principal.tenantId, id);
    if (!found) throw notFound();
    if (found.role !== null) {
      await roles.checkDelegable(trx, actor.principal, found.tenant_id, [found.role]);
    }
    return found;
  }

  function limitReached(count: number): TesseraError {
    const limit = deps.maxClientsPerTenant;
    return new TesseraError(
      OAuthClientErrors.oauth_client_limit_reached,
      `This tenant has ${count} OAuth clients, the most it may have (${limit}); delete one first.`,
      { extensions: { limit } },
    );
  }

  return {
    /** A confidential client's secret is returned this once and stored only as a digest. */
    async create(
      actor: Actor,
      registration: ClientRegistration,
    ): Promise<{ record: OAuthClientRecord; secret: string | null }> {
      const client: NewOAuthClient = {
        name: registration.name,
        type: registration.type,
        grant_types: registration.grant_types,
        scopes: registration.scopes,
        redirect_uris: registration.redirect_uris ?? [],
        post_logout_redirect_uris: registration.post_logout_redirect_uris ?? [],
        role: registration.role ?? null,
        first_party: registration.first_party ?? false,
        tenant_choice: registration.tenant_choice ?? false,
        access_token_ttl_seconds:
          registration.access_token_ttl_seconds ?? deps.defaultAccessTokenTtlSeconds,
        refresh_token_ttl_seconds:
          registration.refresh_token_ttl_seconds ?? CLIENT_LIMITS.defaultRefreshTokenTtl,
      };
      checkClient(client);
      const tenantId = actor.principal.tenantId;
      return db.transaction(async (trx: AnyKysely) => {
        const role = await delegable(trx, actor, client.role);
        const clients = storeOn(trx);
        await deps.lockTenant(trx, tenantId);
        const count = await clients.count(tenantId);
        if (count >= deps.maxClientsPerTenant) throw limitReached(count);
        const created = await clients.create({
          ...client,
          role,
          tenant_id: tenantId,
          created_by: actor.principal.userId,
        });
        await audit.inTransaction(trx, actor.audit, [
          entry(
            actor,
            'oauth_client.created',
            created.record.id,
            auditDetails({ ...client, role }),
          ),
        ]);
        return created;
      });
    },

    list: (tenantId: string, page: { after?: string | undefined; limit: number }) =>
      createOAuthClientStore(db, now).list(tenantId, page),

    /** 404 `oauth_client_not_found` unless the tenant has it. */
    async get(tenantId: string, id: string): Promise<OAuthClientRecord> {
      const found = await createOAuthClientStore(db, now).get(tenantId, id);
      if (!found) throw notFound();
      return found;
    },

    /** The whole client, changed, must keep every rule; the audit event lists what was sent. */
    async update(actor: Actor, id: string, changes: ClientChanges): Promise<OAuthClientRecord> {
      const updated = await db.transaction(async (trx: AnyKysely) => {
        const found = await manageable(trx, actor, id);
        checkClient({ ...found, ...changes });
        const role =
          changes.role === undefined ? {} : { role: await delegable(trx, actor, changes.role) };
        const saved = await storeOn(trx).update(found.tenant_id, id, { ...changes, ...role });
        if (!saved) throw notFound();
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'oauth_client.updated', id, auditDetails({ ...changes, ...role })),
        ]);
        return saved;
      });
      deps.changes.changed({ kind: 'oauth_client', id });
      return updated;
    },

    /** A new secret, shown once; the old one stops working when this commits. */
    async rotateSecret(actor: Actor, id: string): Promise<IssuedClient> {
      const issued = await db.transaction(async (trx: AnyKysely) => {
        const found = await manageable(trx, actor, id);
        if (found.type === 'public') {
          throw new TesseraError(
            OAuthClientErrors.oauth_client_public,
            'A public client has no secret: it proves itself with PKCE.',
          );
        }
        const rotated = await storeOn(trx).rotateSecret(found.tenant_id, id);
        if (!rotated) throw notFound();
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'oauth_client.secret_rotated', id, { name: found.name }),
        ]);
        return rotated;
      });
      deps.changes.changed({ kind: 'oauth_client', id });
      return issued;
    },

    async delete(actor: Actor, id: string): Promise<void> {
      await db.transaction(async (trx: AnyKysely) => {
        const found = await manageable(trx, actor, id);
        if (!(await storeOn(trx).delete(found.tenant_id, id))) throw notFound();
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'oauth_client.deleted', id, { name: found.name, type: found.type }),
        ]);
      });
      deps.changes.changed({ kind: 'oauth_client', id });
    },
  };
}

export type OAuthClientService = ReturnType<typeof createOAuthClientService>;
