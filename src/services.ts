import type { AuditLog } from './audit/audit-log.ts';
import type { Mailer } from './email/mailer.ts';
import type { EmailSettingsService } from './email/settings/email-settings-service.ts';
import type { TicketService } from './events/subscriptions/tickets/ticket-service.ts';
import type { ApiKeyService } from './identity/api-keys/api-key-service.ts';
import type { ApiKeyStore } from './identity/api-keys/api-key-store.ts';
import type { EmailVerification } from './identity/email-verification/email-verification.ts';
import type { CredentialCache } from './identity/guard/credential-cache.ts';
import type { GuardDeps } from './identity/guard/guard.ts';
import type { AuthService } from './identity/login/auth-service.ts';
import type { MagicLinkService } from './identity/magic-links/magic-link-service.ts';
import type { OwnFactorsService } from './identity/mfa/factor-admin/own-factors.ts';
import type { PasskeyService } from './identity/mfa/passkeys/passkey-service.ts';
import type { RecoveryCodeService } from './identity/mfa/recovery-codes/recovery-code-service.ts';
import type { SecondFactorVerifier } from './identity/mfa/second-factor.ts';
import type { SecondStep } from './identity/mfa/second-step/second-step-service.ts';
import type { TotpService } from './identity/mfa/totp/totp-service.ts';
import type { LookupOAuthClient } from './identity/oauth-clients/oauth-client-lookup.ts';
import type { OAuthClientService } from './identity/oauth-clients/oauth-client-service.ts';
import type { OidcServices } from './identity/oidc/oidc-services.ts';
import type { PasswordResetByEmail } from './identity/password-reset/password-reset.ts';
import type { SessionService } from './identity/sessions/session-service.ts';
import type { SessionStore } from './identity/sessions/session-store.ts';
import type { AccessTokens } from './identity/tokens/access-token.ts';
import type { SigningKeys } from './identity/tokens/signing-keys.ts';
import type { UserService } from './identity/users/user-service.ts';
import type { CheckpointScheduler } from './ledger/checkpoints/checkpoint-scheduler.ts';
import type { CheckpointService } from './ledger/checkpoints/checkpoint-service.ts';
import type { LedgerVerifier } from './ledger/ledger-verifier.ts';
import type { EventProofs } from './ledger/proof/event-proof.ts';
import type { AuthAttempts } from './protection/auth-attempts.ts';
import type { LockoutAdmin } from './protection/lockout/lockout-service.ts';
import type { LoginLockout } from './protection/lockout/login-lockout.ts';
import type { SsoServices } from './sso/sso-services.ts';
import type { AnyKysely } from './storage/database.ts';
import type { EmailInvitationService } from './tenancy/invitations/email-invitation-service.ts';
import type { InvitationLinkService } from './tenancy/invitations/invitation-link-service.ts';
import type { InvitationService } from './tenancy/invitations/invitation-service.ts';
import type { TenantInvitationService } from './tenancy/invitations/tenant-invitation-service.ts';
import type { MembershipGrants } from './tenancy/memberships/grant-roles.ts';
import type { MembershipService } from './tenancy/memberships/membership-service.ts';
import type { MemberFactorStatsService } from './tenancy/quotas/member-factor-stats.ts';
import type { QuotaService } from './tenancy/quotas/quota-service.ts';
import type { RoleService } from './tenancy/roles/role-service.ts';
import type { TeamService } from './tenancy/teams/team-service.ts';
import type { SignInSettingsService } from './tenancy/tenants/sign-in-settings-service.ts';
import type { TenantRegistry } from './tenancy/tenants/tenant-registry.ts';
import type { TenantService } from './tenancy/tenants/tenant-service.ts';
import type { createPasswordReset } from './tenancy/users/password-reset.ts';
import type { UserAdminService } from './tenancy/users/user-admin-service.ts';
import type { UserMfaService } from './tenancy/users/user-mfa-service.ts';
import type { UserProvisioning } from './tenancy/users/user-provisioning.ts';
import type { WebhookServices } from './webhooks/webhook-services.ts';

/** Sign-in, tokens and who a user is. */
export interface IdentityServices {
  readonly issuer: string;
  /**
   * The master key, read when first needed: what sealed secrets and derived keys of
   * other domains come from (the SSO client secrets, its test links).
   */
  readonly masterKey: () => Buffer;
  readonly keys: SigningKeys;
  readonly tokens: AccessTokens;
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly auth: AuthService;
  /** Verifying a user's email address by a link (routes and page). */
  readonly emailVerification: EmailVerification;
  /** A forgotten password: the reset email and its link (routes and page). */
  readonly passwordReset: PasswordResetByEmail;
  /** Listing and ending sessions (routes). */
  readonly sessionAdmin: SessionService;
  readonly apiKeys: ApiKeyStore;
  /** Reuses answers only while db.changes hears every change (the app starts it). */
  readonly credentials: CredentialCache;
  /** What the guard needs to turn credentials into a principal. */
  readonly guard: GuardDeps;
  /** API key administration (routes and CLI): quota, delegation and audit rules. */
  readonly apiKeyAdmin: ApiKeyService;
  /** The tenant's OAuth clients: their administration (routes) and the OpenID Provider's lookup. */
  readonly oauthClients: {
    readonly admin: OAuthClientService;
    /** A client by its client_id, any tenant, with its secret's digest, tenant state and creator's roles. */
    readonly lookup: LookupOAuthClient;
  };
  /** The OpenID Provider (issue 19) and its hosted sign-in's steps. */
  readonly oidc: OidcServices;
  /** Passwordless sign-in by email: the request, the link's page and its use (routes). */
  readonly magicLinks: MagicLinkService;
  /** The caller's own authenticator app: enroll, confirm, remove (routes). */
  readonly totp: TotpService;
  /** The caller's own recovery codes: regenerate (routes). */
  readonly recoveryCodes: RecoveryCodeService;
  /** Every second factor's verifier (TOTP, recovery codes, passkeys), in the order offered. */
  readonly factorVerifiers: readonly SecondFactorVerifier[];
  /** A sign-in's second step and step-up over those factors (routes). */
  readonly mfa: SecondStep;
  /** The caller's own second factors, counted (`GET /auth/mfa`). */
  readonly ownFactors: OwnFactorsService;
  /** Passkeys: registration, the owner's list, passwordless sign-in, second-factor options (routes). */
  readonly passkeys: PasskeyService;
}

/** Tenants, their members, teams, invitations and quotas. */
export interface TenancyServices {
  readonly tenants: TenantRegistry;
  /** Roles granted by ids (operators' tools, start-up, tests). */
  readonly memberships: MembershipGrants;
  /** Tenants' quotas and usage; cached per node (kept fresh by db.changes). */
  readonly quotas: QuotaService;
  /** How the tenant's active members stand on second factors (`/tenants/{id}/stats`). */
  readonly memberFactors: MemberFactorStatsService;
  /** Tenant administration (routes and CLI). */
  readonly tenantAdmin: TenantService;
  /** A tenant's memberships, by platform administrators. */
  readonly members: MembershipService;
  /** Invitations a tenant sends. */
  readonly tenantInvitations: TenantInvitationService;
  /** Invitations a user answers. */
  readonly invitations: InvitationService;
  /** Invitations by email in the caller's tenant: invite, resend (routes). */
  readonly emailInvitations: EmailInvitationService;
  /** Accepting an invitation with its email's token (route and page). */
  readonly invitationLinks: InvitationLinkService;
  /** The members of one tenant, by its administrators (routes and CLI). */
  readonly userAdmin: UserAdminService;
  /** A member's second factors, listed and reset by the tenant's administrators (routes). */
  readonly userMfa: UserMfaService;
  readonly teams: TeamService;
  /** The tenant's custom roles (routes). */
  readonly roles: RoleService;
  /** An operator's new user with roles in any tenants (CLI). */
  readonly provisioning: UserProvisioning;
  /** An operator sets a user's password (CLI). */
  readonly resetPassword: ReturnType<typeof createPasswordReset>;
  /**
   * Holds a tenant's row until `trx` ends: for another domain's checks of something
   * per tenant that concurrent writers must make one after another (IP filter lists).
   */
  readonly lockTenant: (trx: AnyKysely, tenantId: string) => Promise<void>;
  /** How a tenant's members sign in: verified email, magic link redirects (routes). */
  readonly signInSettings: SignInSettingsService;
}

/** Outgoing email: the outbox every domain queues into. */
export interface EmailServices {
  readonly mailer: Mailer;
  /** Tenants' email branding and templates (routes). */
  readonly settings: EmailSettingsService;
}

/** Brute-force protection of sign-in. */
export interface ProtectionServices {
  /** Where logins, refreshes, authenticated requests and locks are reported (for metrics). */
  readonly attempts: AuthAttempts;
  /** Failed-login counting, account locks and IP slowing (docs/lockout.md). */
  readonly lockout: LoginLockout;
  /** Listing and clearing locks (routes and CLI). */
  readonly lockouts: LockoutAdmin;
}

/** Signed checkpoints of the partitions' hash chains. */
export interface LedgerServices {
  readonly checkpoints: CheckpointService;
  /** Online verification of a tenant's chains against their checkpoints (`GET /audit/verify`). */
  readonly verifier: LedgerVerifier;
  /** What proves one event: its chain segment, checkpoint and key (`GET /ledger/proof`). */
  readonly proofs: EventProofs;
  /** One bounded pass of the background checkpoints; the app starts it on a timer. */
  readonly checkpointScheduler: CheckpointScheduler;
}

/** Every store and service of one process, by domain. */
export interface Services {
  readonly identity: IdentityServices;
  readonly tenancy: TenancyServices;
  readonly protection: ProtectionServices;
  readonly email: EmailServices;
  /** Single sign-on through tenants' identity providers (issue 20). */
  readonly sso: SsoServices;
  /** Webhooks: endpoints, and the dispatcher the app opens over the event store (issue 21). */
  readonly webhooks: WebhookServices;
  /** The tamper-evident ledger: signed checkpoints and their schedule (issue 22). */
  readonly ledger: LedgerServices;
  /** Every change appends its audit event in its own transaction through this. */
  readonly audit: AuditLog;
  readonly events: { readonly tickets: TicketService };
}

/**
 * What tests inject: the lockout's and the guard's clock, how a slowed login waits, a count
 * of password checks.
 */
export interface ServiceOptions {
  readonly now?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Told before every check of a password against an account's hash (tests count them). */
  readonly onPasswordCheck?: (() => void) | undefined;
  /**
   * When the master key is read (or its file created): `at-start` (the default, the
   * server: a bad key fails the start, not the first login) or `when-needed` (the CLI:
   * a command that signs nothing, such as `user create`, never touches it).
   */
  readonly masterKey?: 'at-start' | 'when-needed' | undefined;
  /** The clock of TOTP time steps and of how recent a session's proofs are (MFA tests). */
  readonly mfaNow?: (() => number) | undefined;
}
