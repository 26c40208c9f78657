import type { RolePolicy } from './access/role-policy.ts';
import { type AuditLog, createAuditLog } from './audit/audit-log.ts';
import type { Config } from './config/schema.ts';
import { createMailer, type Mailer } from './email/mailer.ts';
import { createEmailSettingsService } from './email/settings/email-settings-service.ts';
import { openChainLog } from './events/chain/chain-log.ts';
import { openEventStore } from './events/open-event-store.ts';
import { createTicketService } from './events/subscriptions/tickets/ticket-service.ts';
import { createTicketStore } from './events/subscriptions/tickets/ticket-store.ts';
import { createApiKeyLookup } from './identity/api-keys/api-key-lookup.ts';
import { createApiKeyService } from './identity/api-keys/api-key-service.ts';
import { createApiKeyStore } from './identity/api-keys/api-key-store.ts';
import { createEmailVerification } from './identity/email-verification/email-verification.ts';
import { type CredentialCache, createCredentialCache } from './identity/guard/credential-cache.ts';
import { createAuthService } from './identity/login/auth-service.ts';
import { createMagicLinks } from './identity/magic-links/magic-link-service.ts';
import { createOwnFactors } from './identity/mfa/factor-admin/own-factors.ts';
import { createFactorPresence } from './identity/mfa/factor-presence.ts';
import { createPasskeys, relyingPartyOf } from './identity/mfa/passkeys/passkey-service.ts';
import type { SecondFactorVerifier } from './identity/mfa/second-factor.ts';
import { createSecondStep } from './identity/mfa/second-step/second-step-service.ts';
import { composeMfaFactors } from './identity/mfa/totp/compose-mfa-factors.ts';
import {
  createOAuthClientLookup,
  type LookupOAuthClient,
} from './identity/oauth-clients/oauth-client-lookup.ts';
import { createOAuthClientService } from './identity/oauth-clients/oauth-client-service.ts';
import { createOidcServices } from './identity/oidc/oidc-services.ts';
import { providerPages } from './identity/oidc/pages/provider-pages.ts';
import { createPasswordResetByEmail } from './identity/password-reset/password-reset.ts';
import { createSessionService } from './identity/sessions/session-service.ts';
import { createSessionStore, successorKeyFrom } from './identity/sessions/session-store.ts';
import type {
  LockTenant,
  NewAccountPlacement,
  SignInOf,
  StandingOf,
  StoredRolesOf,
} from './identity/tenancy-port.ts';
import { createAccessTokens, issuerFor } from './identity/tokens/access-token.ts';
import type { IssueAccessToken } from './identity/tokens/issue-token-set.ts';
import { loadMasterKey } from './identity/tokens/master-key.ts';
import { createSigningKeys, type SigningKeys } from './identity/tokens/signing-keys.ts';
import { createUserService, type UserService } from './identity/users/user-service.ts';
import { createCheckpointScheduler } from './ledger/checkpoints/checkpoint-scheduler.ts';
import { createCheckpointService } from './ledger/checkpoints/checkpoint-service.ts';
import { createCheckpointStore } from './ledger/checkpoints/checkpoint-store.ts';
import { checkpointKeyring } from './ledger/checkpoints/verify-checkpoint.ts';
import { createLedgerVerifier } from './ledger/ledger-verifier.ts';
import { createEventProofs } from './ledger/proof/event-proof.ts';
import { createAuthAttempts } from './protection/auth-attempts.ts';
import { createLockoutAdmin } from './protection/lockout/lockout-service.ts';
import { createLoginLockout } from './protection/lockout/login-lockout.ts';
import type { IdentityServices, ProtectionServices, ServiceOptions, Services } from './services.ts';
import { composeSso } from './sso/sso-services.ts';
import type { AnyKysely } from './storage/database.ts';
import type { Database } from './storage/open-database.ts';
import { createEmailInvitationService } from './tenancy/invitations/email-invitation-service.ts';
import { createInvitationLinkService } from './tenancy/invitations/invitation-link-service.ts';
import { createInvitationService } from './tenancy/invitations/invitation-service.ts';
import { createInvitationStore } from './tenancy/invitations/invitation-store.ts';
import { createTenantInvitationService } from './tenancy/invitations/tenant-invitation-service.ts';
import { createMembershipGrants } from './tenancy/memberships/grant-roles.ts';
import { checkManagesMember, checkOwnsIdentity } from './tenancy/memberships/identity-owner.ts';
import { createMembershipService } from './tenancy/memberships/membership-service.ts';
import {
  createMembershipStore,
  type MembershipStore,
} from './tenancy/memberships/membership-store.ts';
import { checkApiKeyQuota } from './tenancy/quotas/api-key-quota.ts';
import { createMemberFactorStats } from './tenancy/quotas/member-factor-stats.ts';
import { createQuotaService } from './tenancy/quotas/quota-service.ts';
import { createCustomRoleLookup } from './tenancy/roles/custom-role-lookup.ts';
import { createRolePolicy } from './tenancy/roles/role-policy.ts';
import { createRoleService } from './tenancy/roles/role-service.ts';
import { createTeamService } from './tenancy/teams/team-service.ts';
import { createSignInSettingsService } from './tenancy/tenants/sign-in-settings-service.ts';
import { createSignInSettingsStore } from './tenancy/tenants/sign-in-settings-store.ts';
import { createTenantRegistry } from './tenancy/tenants/tenant-registry.ts';
import { createTenantService } from './tenancy/tenants/tenant-service.ts';
import { createTenantStore } from './tenancy/tenants/tenant-store.ts';
import { createPasswordReset } from './tenancy/users/password-reset.ts';
import { createRegistrationPlacement } from './tenancy/users/registration-placement.ts';
import { createUserAdminService } from './tenancy/users/user-admin-service.ts';
import { createUserMfaService } from './tenancy/users/user-mfa-service.ts';
import { createUserProvisioning } from './tenancy/users/user-provisioning.ts';
import { composeWebhooks } from './webhooks/webhook-services.ts';

export type { ServiceOptions, Services } from './services.ts';

/**
 * The one place stores and services are built, for the server and the CLI alike. It
 * queries nothing yet (the database may still be unmigrated): the server calls
 * `identity.keys.ensureKey()` after migrating, and the first token signed creates a
 * key if nobody did. It does read the master key at once, unless `options.masterKey`
 * is `when-needed` (the CLI).
 */
export function composeServices(
  db: Database,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  options: ServiceOptions = {},
): Services {
  const audit = createAuditLog(db);
  const credentials = createCredentialCache({
    ttlMs: config.auth.credential_cache_seconds * 1000,
    changes: db.changes,
  });
  const apiKeys = createApiKeyStore(db, Date.now, credentials);
  const tenants = createTenantRegistry(db, Date.now, credentials);
  const quotas = createQuotaService({
    db,
    audit,
    countLiveApiKeys: apiKeys.countLive,
    // The webhooks domain's count (built below: called only once requests flow).
    countWebhooks: (tenantId) => webhooks.count(tenantId),
  });
  const users = createUserService(db);
  // Stateless: what role names mean is read in each caller's transaction.
  const rolePolicy = createRolePolicy();
  const memberships = createMembershipStore(db, Date.now, credentials);
  // Tenancy's answers to the ports of identity and protection, read on the
  // caller's connection or transaction, so that a check and its write see one state.
  const membersOn = (on: AnyKysely) => createMembershipStore({ kysely: on });
  /** What a session or API key is worth in its tenant (a refresh reads it in its own transaction). */
  const standingOf = (on: AnyKysely, tenantId: string, userId: string | null) =>
    membersOn(on).standing(tenantId, userId);
  const protection = composeProtection(db, config, { audit, memberships, users }, options);
  // Every domain that sends email queues it in its own transaction through this.
  const mailer = createMailer(config);
  const signInOf: SignInOf = (tenantId) => createSignInSettingsStore(db.kysely).get(tenantId);
  const identity = composeIdentity(db, config, env, options, {
    users,
    audit,
    credentials,
    protection,
    tenantExists: async (id) => (await tenants.get(id)) !== undefined,
    memberships,
    standingOf,
    storedRolesOf: (on, tenantId, userId) => membersOn(on).storedRoles(tenantId, userId),
    rolePolicy,
    mailer,
    signInOf,
    newAccounts: createRegistrationPlacement(config.auth),
    tenantsOf: async (userId) => {
      const live = (await memberships.listOfUser(userId)).filter(
        (m) =>
          !m.tenant_deleted && m.membership_status === 'active' && m.tenant_status === 'active',
      );
      return Promise.all(
        live.map(async (m) => ({
          id: m.tenant_id,
          name: (await tenants.get(m.tenant_id))?.name ?? m.tenant_id,
        })),
      );
    },
  });
  const tickets = createTicketService({
    store: createTicketStore(db),
    ttlSeconds: config.subscriptions.ticket_ttl_seconds,
    maxPerCredential: config.subscriptions.max_tickets_per_credential,
  });
  const changes = credentials;
  const passwordMinLength = config.auth.password_min_length;
  const lockTenant: LockTenant = (trx, tenantId) =>
    createTenantStore({ kysely: trx }).lockForWrites(tenantId);
  const sso = composeSso(db, config, {
    audit,
    roles: rolePolicy,
    lockTenant,
    signInOf,
    changes: credentials,
    sessions: identity.sessions,
    issueAccessToken: (claims) => identity.tokens.issue(claims),
    admission: { lockout: protection.lockout, membershipsOf: (id) => memberships.listOfUser(id) },
    masterKey: identity.masterKey,
    base: identity.issuer,
    now: options.now,
  });
  const webhooks = composeWebhooks(db, config, {
    audit,
    masterKey: identity.masterKey,
    mailer,
    adminContacts: async (tenantId) => {
      // A notice, not a list to page through: the first 50 admins are told.
      const ids = await memberships.activeWithRole(tenantId, 'admin', 50);
      const tenantName = (await tenants.get(tenantId))?.name ?? tenantId;
      return (await users.findManyByIds(ids)).map((user) => ({
        email: user.email,
        name: user.name,
        tenant_name: tenantName,
      }));
    },
    lockTenant,
    quotaLimit: (tenantId) => quotas.limitOf(tenantId, 'max_webhooks'),
    tenantActive: async (tenantId) => (await tenants.get(tenantId))?.status === 'active',
    now: options.now,
  });
  // How invitations reach their invitees, whichever route invites.
  const invitationDelivery = { mailer, ttlSeconds: config.auth.invitation_ttl_seconds };
  return {
    identity: {
      ...identity,
      apiKeys,
      credentials,
      guard: {
        verifyAccessToken: (token) => identity.tokens.verify(token),
        sessions: identity.sessions,
        apiKeys,
        lookupApiKey: createApiKeyLookup(db, standingOf),
        credentials,
        customRoles: createCustomRoleLookup(db, credentials),
        attempts: protection.attempts,
        redeemTicket: tickets.redeem,
        lookupClient: identity.oauthClientLookup,
        // The tests' clock, so a step-up can be aged without waiting (issue 18).
        ...(options.now ? { now: options.now } : {}),
        mfa: {
          stepUpSeconds: config.mfa.step_up_seconds,
          hasFactor: createFactorPresence(db.kysely).hasFactor,
        },
      },
      apiKeyAdmin: createApiKeyService({
        db,
        apiKeys,
        audit,
        changes,
        roles: rolePolicy,
        quota: {
          limitOf: (tenantId) => quotas.limitOf(tenantId, 'max_api_keys'),
          check: checkApiKeyQuota,
        },
      }),
      oauthClients: {
        admin: createOAuthClientService({
          db,
          audit,
          changes,
          roles: rolePolicy,
          lockTenant,
          maxClientsPerTenant: config.oauth.max_clients_per_tenant,
          defaultAccessTokenTtlSeconds: config.oauth.access_token_ttl_seconds,
        }),
        lookup: identity.oauthClientLookup,
      },
    },
    tenancy: {
      roles: createRoleService({
        db,
        audit,
        changes,
        countMembersWithRole: (trx, tenantId, role) => membersOn(trx).countWithRole(tenantId, role),
      }),
      tenants,
      memberships: createMembershipGrants(db, credentials),
      quotas,
      memberFactors: createMemberFactorStats(db),
      tenantAdmin: createTenantService({
        db,
        tenants,
        users: identity.users,
        audit,
        changes,
        passwordMinLength,
        quotas,
      }),
      members: createMembershipService({ db, changes, audit, invitations: invitationDelivery }),
      tenantInvitations: createTenantInvitationService({ db, changes, audit }),
      invitations: createInvitationService({ db, audit, changes }),
      emailInvitations: createEmailInvitationService({ db, audit, delivery: invitationDelivery }),
      invitationLinks: createInvitationLinkService({
        db,
        audit,
        changes,
        startSession: (...args) => identity.sessions.start(...args),
        issueAccessToken: (claims) => identity.tokens.issue(claims),
        passwordMinLength,
      }),
      userAdmin: createUserAdminService({
        db,
        audit,
        changes,
        roles: rolePolicy,
        passwordMinLength,
        invitations: invitationDelivery,
      }),
      userMfa: createUserMfaService({ db, audit, mailer, attempts: protection.attempts }),
      teams: createTeamService({ db, audit }),
      provisioning: createUserProvisioning({ db, audit, passwordMinLength }),
      resetPassword: createPasswordReset({
        users: identity.users,
        sessions: identity.sessions,
        audit,
        passwordMinLength,
      }),
      lockTenant,
      signInSettings: createSignInSettingsService({
        db,
        audit,
        changes,
        // The sso domain's answer: tenancy sits below sso and may not ask it itself.
        hasEnabledSsoConnection: async (tenantId) => (await sso.flow.offered(tenantId)).length > 0,
      }),
    },
    protection,
    email: { mailer, settings: createEmailSettingsService({ db, audit }) },
    sso,
    webhooks,
    ledger: composeLedger(db, config, { audit, keys: identity.keys }, options),
    audit,
    events: { tickets },
  };
}

/**
 * Checkpoints sign with identity's keys and record on-demand signing in the audit
 * trail; verification and proofs read the chains and check checkpoints against any
 * key identity has published, retired ones included.
 */
function composeLedger(
  db: Database,
  config: Config,
  { audit, keys }: { readonly audit: AuditLog; readonly keys: SigningKeys },
  options: ServiceOptions,
): Services['ledger'] {
  const chain = openChainLog(db);
  // Reads only: a store of its own, as the audit log has.
  const events = openEventStore(db);
  return {
    verifier: createLedgerVerifier(chain, config.ledger, {
      store: createCheckpointStore(db.kysely),
      keyring: checkpointKeyring((kid) => keys.findAnyPublicKey(kid)),
    }),
    proofs: createEventProofs({
      kysely: db.kysely,
      chain,
      findEvent: (partition, id) => events.getEvent(partition, id),
      keys,
      maxEvents: config.ledger.proof_max_events,
    }),
    checkpoints: createCheckpointService({ db, keys, audit, now: options.now }),
    checkpointScheduler: createCheckpointScheduler({
      db,
      keys,
      rule: {
        events: config.ledger.checkpoint_interval_events,
        seconds: config.ledger.checkpoint_interval_seconds,
      },
      now: options.now,
    }),
  };
}

interface ProtectionNeeds {
  readonly audit: AuditLog;
  /** Tenancy's and identity's: whom a tenant's administrator sees locked. */
  readonly memberships: MembershipStore;
  readonly users: UserService;
}

function composeProtection(
  db: Database,
  config: Config,
  { audit, memberships, users }: ProtectionNeeds,
  options: ServiceOptions,
): ProtectionServices {
  const attempts = createAuthAttempts();
  const { now, sleep } = options;
  return {
    attempts,
    lockout: createLoginLockout({ settings: config.lockout, db, audit, attempts, now, sleep }),
    lockouts: createLockoutAdmin({
      identityRules: { checkOwnsIdentity, checkManagesMember },
      settings: config.lockout,
      db,
      audit,
      now,
      tenantsOf: async (userId) =>
        (await memberships.listOfUser(userId))
          .filter((m) => !m.tenant_deleted)
          .map((m) => m.tenant_id),
      isMember: async (tenantId, userId) =>
        (await memberships.storedRoles(tenantId, userId)) !== undefined,
      memberIds: (tenantId) => memberships.memberIds(tenantId),
      emailsOf: async (ids) =>
        new Map((await users.findManyByIds(ids)).map((user) => [user.id, user.email])),
    }),
  };
}

interface IdentityNeeds {
  readonly users: UserService;
  readonly audit: AuditLog;
  readonly credentials: CredentialCache;
  readonly protection: ProtectionServices;
  readonly tenantExists: (tenantId: string) => Promise<boolean>;
  /** Tenancy's memberships, which sign-in and sessions ask about. */
  readonly memberships: MembershipStore;
  readonly standingOf: StandingOf;
  readonly rolePolicy: RolePolicy;
  readonly storedRolesOf: StoredRolesOf;
  readonly mailer: Mailer;
  /** Tenancy's: a tenant's name and sign-in settings. */
  readonly signInOf: SignInOf;
  /** Tenancy's: where a self-registered account goes. */
  readonly newAccounts: NewAccountPlacement;
  /** Tenancy's: the tenants a user may enter now, with their names (the hosted tenant picker). */
  readonly tenantsOf: (userId: string) => Promise<readonly { id: string; name: string }[]>;
}

/** Identity's services that stand on their own; the credential ones need tenancy's ports. */
type IdentityCore = Omit<
  IdentityServices,
  'apiKeys' | 'credentials' | 'guard' | 'apiKeyAdmin' | 'oauthClients'
> & { readonly oauthClientLookup: LookupOAuthClient };

function composeIdentity(
  db: Database,
  config: Config,
  env: NodeJS.ProcessEnv,
  options: ServiceOptions,
  needs: IdentityNeeds,
): IdentityCore {
  const {
    users,
    audit,
    credentials,
    protection,
    tenantExists,
    memberships,
    standingOf,
    rolePolicy,
    mailer,
    signInOf,
  } = needs;
  let loaded: Buffer | undefined;
  const masterKey = (): Buffer => {
    loaded ??= loadMasterKey(config.storage, env);
    return loaded;
  };
  if (options.masterKey !== 'when-needed') masterKey();
  let successorKey: Buffer | undefined;
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
  const sessions = createSessionStore(
    db,
    standingOf,
    config.auth.refresh_token_ttl_seconds,
    Date.now,
    credentials,
    {
      graceSeconds: config.auth.refresh_grace_seconds,
      successorKey: () => {
        successorKey ??= successorKeyFrom(masterKey());
        return successorKey;
      },
    },
  );
  const invitations = createInvitationStore(db.kysely);
  const membershipsOf = (userId: string) => memberships.listOfUser(userId);
  const invitedTenants = (userId: string) => invitations.invitingTenants(userId);
  const issueAccessToken: IssueAccessToken = (claims) => tokens.issue(claims);
  const passkeys = createPasskeys({
    db,
    relyingParty: relyingPartyOf(config),
    users,
    sessions,
    issueAccessToken,
    membershipsOf,
    signInOf,
    mailer,
    audit,
    lockout: protection.lockout,
    attempts: protection.attempts,
    challengeTtlSeconds: config.webauthn.challenge_ttl_seconds,
    reauthenticationSeconds: config.mfa.reauthentication_seconds,
    stepUpSeconds: config.mfa.step_up_seconds,
    now: Date.now,
  });
  const factors = composeMfaFactors({
    db,
    config: config.mfa,
    masterKey,
    users,
    sessions,
    audit,
    mailer,
    attempts: protection.attempts,
    now: options.mfaNow ?? Date.now,
  });
  // The second step's registry of factors: TOTP's and recovery codes', then the passkeys'.
  const factorVerifiers: SecondFactorVerifier[] = [...factors.factorVerifiers, passkeys.verifier];
  const mfa = createSecondStep({
    db,
    verifiers: factorVerifiers,
    sessions,
    users,
    membershipsOf,
    invitedTenants,
    signInOf,
    issueAccessToken,
    lockout: protection.lockout,
    attempts: protection.attempts,
    audit,
    settings: config.mfa,
    now: options.now,
  });
  const oauthClientLookup = createOAuthClientLookup(db, standingOf);
  const oidc = createOidcServices({
    db,
    issuer,
    audience: config.auth.audience,
    masterKey,
    secureCookies: issuer.startsWith('https:'),
    keys,
    tokens,
    sessions,
    users,
    admission: { lockout: protection.lockout, membershipsOf },
    signInOf,
    findClient: oauthClientLookup,
    tenantsOf: needs.tenantsOf,
    audit,
    pages: providerPages,
    ttl: {
      idTokenSeconds: config.auth.access_token_ttl_seconds,
      sessionSeconds: config.auth.refresh_token_ttl_seconds,
    },
  });
  return {
    issuer,
    masterKey,
    keys,
    tokens,
    users,
    sessions,
    oauthClientLookup,
    oidc,
    auth: createAuthService({
      users,
      sessions,
      issueAccessToken: (claims) => tokens.issue(claims),
      auth: config.auth,
      db,
      audit,
      tenantExists,
      invitedTenants,
      membershipsOf,
      signInOf,
      mailer,
      secondStep: mfa.gate,
      lockout: protection.lockout,
      attempts: protection.attempts,
      onPasswordCheck: options.onPasswordCheck,
      newAccounts: needs.newAccounts,
    }),
    emailVerification: createEmailVerification({
      db,
      users,
      audit,
      mailer,
      signInOf,
      ttlSeconds: config.auth.email_verification_ttl_seconds,
    }),
    passwordReset: createPasswordResetByEmail({
      db,
      users,
      sessions,
      audit,
      mailer,
      membershipsOf,
      signInOf,
      lockout: protection.lockout,
      ttlSeconds: config.auth.password_reset_ttl_seconds,
      passwordMinLength: config.auth.password_min_length,
    }),
    sessionAdmin: createSessionService({
      db,
      audit,
      changes: credentials,
      roles: rolePolicy,
      storedRolesOf: needs.storedRolesOf,
    }),
    ownFactors: createOwnFactors(db),
    magicLinks: createMagicLinks({
      db,
      users,
      sessions,
      issueAccessToken: (claims) => tokens.issue(claims),
      membershipsOf,
      signInOf,
      mailer,
      audit,
      ttlSeconds: config.auth.magic_link_ttl_seconds,
      lockout: protection.lockout,
      attempts: protection.attempts,
      secondStep: mfa.gate,
    }),
    ...factors,
    factorVerifiers,
    mfa,
    passkeys,
  };
}
