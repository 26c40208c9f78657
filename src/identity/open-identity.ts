import { type ApiKeyService, createApiKeyService } from '../access/api-keys/api-key-service.ts';
import { type ApiKeyStore, createApiKeyStore } from '../access/api-keys/api-key-store.ts';
import { type CredentialCache, createCredentialCache } from '../access/credential-cache.ts';
import type { GuardDeps } from '../access/guard.ts';
import { createCustomRoleLookup } from '../access/roles/custom-role-lookup.ts';
import { type AuditLog, createAuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import { type AuthAttempts, createAuthAttempts } from '../protection/auth-attempts.ts';
import { createLockoutAdmin, type LockoutAdmin } from '../protection/lockout/lockout-service.ts';
import { createLoginLockout, type LoginLockout } from '../protection/lockout/login-lockout.ts';
import type { Database } from '../storage/open-database.ts';
import { createInvitationStore } from '../tenancy/invitations/invitation-store.ts';
import {
  createMembershipStore,
  type MembershipStore,
} from '../tenancy/memberships/membership-store.ts';
import { createQuotaService, type QuotaService } from '../tenancy/quotas/quota-service.ts';
import { createTenantStore, type TenantStore } from '../tenancy/tenants/tenant-store.ts';
import { type AuthService, createAuthService } from './login/auth-service.ts';
import {
  createSessionStore,
  type SessionStore,
  successorKeyFrom,
} from './sessions/session-store.ts';
import { type AccessTokens, createAccessTokens, issuerFor } from './tokens/access-token.ts';
import { loadMasterKey } from './tokens/master-key.ts';
import { createSigningKeys, type SigningKeys } from './tokens/signing-keys.ts';
import { createUserStore, type UserStore } from './users/user-store.ts';

/** Identity, tenancy and access as the app uses them. */
export interface Identity {
  readonly issuer: string;
  readonly keys: SigningKeys;
  readonly tokens: AccessTokens;
  readonly users: UserStore;
  readonly tenants: TenantStore;
  readonly memberships: MembershipStore;
  readonly sessions: SessionStore;
  readonly apiKeys: ApiKeyStore;
  /** Inactive until a listener hears every node's changes (PostgreSQL; see app.ts). */
  readonly credentials: CredentialCache;
  readonly auth: AuthService;
  readonly guard: GuardDeps;
  /** Every change appends its audit event in its own transaction through this. */
  readonly audit: AuditLog;
  /** Tenants' quotas and usage; cached per node (kept fresh by tenancy/quotas/quota-watcher.ts). */
  readonly quotas: QuotaService;
  /** API key administration (routes and CLI): quota, delegation and audit rules. */
  readonly apiKeyAdmin: ApiKeyService;
  /** Where logins, refreshes, authenticated requests and locks are reported (for metrics). */
  readonly attempts: AuthAttempts;
  /** Failed-login counting, account locks and IP slowing (docs/lockout.md). */
  readonly lockout: LoginLockout;
  /** Listing and clearing locks (routes and CLI). */
  readonly lockouts: LockoutAdmin;
}

/** What tests inject: the lockout's clock, how a slowed login waits, a count of password checks. */
export interface IdentityOptions {
  readonly now?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Told before every check of a password against an account's hash (tests count them). */
  readonly onPasswordCheck?: (() => void) | undefined;
}

/**
 * The identity domain on `db`. It reads nothing yet (the database may still be
 * unmigrated): the server calls `keys.ensureKey()` after migrating, and the first
 * token signed creates a key if nobody did.
 */
export function openIdentity(
  db: Database,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  options: IdentityOptions = {},
): Identity {
  const masterKey = loadMasterKey(config.storage, env);
  const keys = createSigningKeys(db, masterKey, {
    accessTtlSeconds: config.auth.access_token_ttl_seconds,
    publishAheadSeconds: config.auth.key_publish_ahead_seconds,
  });
  const issuer = issuerFor(config);
  const tokens = createAccessTokens({
    keys,
    issuer,
    audience: config.auth.audience,
    ttlSeconds: config.auth.access_token_ttl_seconds,
  });
  const users = createUserStore(db);
  const credentials = createCredentialCache({
    ttlMs: config.auth.credential_cache_seconds * 1000,
  });
  const sessions = createSessionStore(
    db,
    config.auth.refresh_token_ttl_seconds,
    Date.now,
    credentials,
    {
      graceSeconds: config.auth.refresh_grace_seconds,
      successorKey: successorKeyFrom(masterKey),
    },
  );
  const apiKeys = createApiKeyStore(db, Date.now, credentials);
  const audit = createAuditLog(db);
  const tenants = createTenantStore(db, Date.now, credentials);
  const quotas = createQuotaService({ db, audit, countLiveApiKeys: apiKeys.countLive });
  const attempts = createAuthAttempts();
  const lockout = createLoginLockout({
    settings: config.lockout,
    db,
    audit,
    attempts,
    now: options.now,
    sleep: options.sleep,
  });
  return {
    issuer,
    keys,
    tokens,
    users,
    tenants,
    memberships: createMembershipStore(db, Date.now, credentials),
    sessions,
    apiKeys,
    credentials,
    auth: createAuthService({
      users,
      sessions,
      issueAccessToken: (claims) => tokens.issue(claims),
      auth: config.auth,
      db,
      audit,
      tenantExists: async (id) => (await tenants.get(id)) !== undefined,
      invitedTenants: (userId) => createInvitationStore(db.kysely).invitingTenants(userId),
      lockout,
      attempts,
      onPasswordCheck: options.onPasswordCheck,
    }),
    guard: {
      verifyAccessToken: (token) => tokens.verify(token),
      sessions,
      apiKeys,
      credentials,
      customRoles: createCustomRoleLookup(db, credentials),
      attempts,
    },
    audit,
    quotas,
    apiKeyAdmin: createApiKeyService({ db, apiKeys, audit, changes: credentials, quotas }),
    attempts,
    lockout,
    lockouts: createLockoutAdmin({
      settings: config.lockout,
      db,
      audit,
      now: options.now,
      tenantsOf: async (userId) =>
        (await users.listMembershipsOfUser(userId))
          .filter((m) => !m.tenant_deleted)
          .map((m) => m.tenant_id),
    }),
  };
}
