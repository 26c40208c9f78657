import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { auditRoutes } from './audit/audit-routes.ts';
import { backupMetrics } from './backup/backup-metrics.ts';
import { backupRoutes } from './backup/backup-routes.ts';
import { parseInterval, startBackupSchedule } from './backup/scheduler.ts';
import { type BackupService, createBackupService } from './backup/service.ts';
import { composeServices, type Services } from './composition-root.ts';
import type { Config } from './config/schema.ts';
import { startEmailDelivery } from './email/delivery/start-delivery.ts';
import { publicUrlOf } from './email/mailer.ts';
import { emailSettingsRoutes } from './email/settings/email-settings-routes.ts';
import { eventRoutes } from './events/event-routes.ts';
import { type Events, openEvents } from './events/open-events.ts';
import { createRedisTenantSlots } from './events/subscriptions/redis-tenant-slots.ts';
import { createSubscriptionLimits } from './events/subscriptions/subscription-limits.ts';
import { subscriptionMetrics } from './events/subscriptions/subscription-metrics.ts';
import { ticketRoutes } from './events/subscriptions/tickets/ticket-routes.ts';
import { closeAnsweredUpgrades } from './http/answered-upgrades.ts';
import { registerCompression } from './http/compression.ts';
import { limitConnections, timeoutSettings } from './http/connection-limits.ts';
import { registerCors } from './http/cors.ts';
import { installDraining } from './http/draining.ts';
import { healthRoutes, PROBE_PATHS } from './http/health.ts';
import { installJsonBody } from './http/json-body.ts';
import { type AppLogger, loggerSettings } from './http/logger.ts';
import { installMetrics } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { pagesPlugin } from './http/pages/pages.ts';
import { frameworkErrorHandler, installProblemHandlers } from './http/problem-handlers.ts';
import { genRequestId, installRequestId, setRequestIdHeader } from './http/request-id.ts';
import { installRequestTextCheck } from './http/request-text.ts';
import { installSecurityHeaders, securityHeadersFor } from './http/security-headers.ts';
import { sharedSerializers } from './http/serializer-compiler.ts';
import { tesseraValidators } from './http/validator-compiler.ts';
import { apiKeyRoutes } from './identity/api-keys/api-key-routes.ts';
import { emailVerificationPage } from './identity/email-verification/email-verification-page.ts';
import { emailVerificationRoutes } from './identity/email-verification/email-verification-routes.ts';
import { installGuard } from './identity/guard/guard.ts';
import { authRoutes } from './identity/login/auth-routes.ts';
import { magicLinkPage } from './identity/magic-links/magic-link-page-routes.ts';
import { magicLinkRoutes } from './identity/magic-links/magic-link-routes.ts';
import { ownFactorsRoutes } from './identity/mfa/factor-admin/own-factors-routes.ts';
import { passkeyLoginRoutes } from './identity/mfa/passkeys/passkey-login-routes.ts';
import { passkeyRoutes } from './identity/mfa/passkeys/passkey-routes.ts';
import { recoveryCodeRoutes } from './identity/mfa/recovery-codes/recovery-code-routes.ts';
import { mfaRoutes } from './identity/mfa/second-step/mfa-routes.ts';
import { totpRoutes } from './identity/mfa/totp/totp-routes.ts';
import { oauthClientRoutes } from './identity/oauth-clients/oauth-client-routes.ts';
import { hostedSignInPages } from './identity/oidc/hosted-sign-in.ts';
import { oidcMount } from './identity/oidc/oidc-mount.ts';
import { passwordResetPage } from './identity/password-reset/password-reset-page.ts';
import { passwordResetRoutes } from './identity/password-reset/password-reset-routes.ts';
import { sessionRoutes } from './identity/sessions/session-routes.ts';
import { wellKnownRoutes } from './identity/tokens/well-known-routes.ts';
import { createBackgroundVerifier, startBackgroundVerifier } from './ledger/background-verifier.ts';
import { checkpointRoutes } from './ledger/checkpoints/checkpoint-routes.ts';
import { MAX_TICK_MS, startCheckpointing } from './ledger/checkpoints/checkpoint-scheduler.ts';
import { ledgerRoutes } from './ledger/ledger-routes.ts';
import { proofRoutes } from './ledger/proof/proof-routes.ts';
import { countAuthAttempts } from './protection/auth-metrics.ts';
import { auditDeniedRequests } from './protection/denied-requests/denied-requests.ts';
import { ipFilterRoutes } from './protection/ip-filters/ip-filter-routes.ts';
import { type IpFilters, openIpFilters } from './protection/ip-filters/open-ip-filters.ts';
import { lockoutRoutes } from './protection/lockout/lockout-routes.ts';
import { openRateLimits, type RateLimitTuning } from './protection/rate-limits/open-rate-limits.ts';
import { installRateLimits } from './protection/rate-limits/rate-limits.ts';
import { ssoConnectionRoutes } from './sso/connections/connection-routes.ts';
import { startDeprovisioning } from './sso/deprovisioning/deprovisioning.ts';
import { deprovisioningRoutes } from './sso/deprovisioning/deprovisioning-routes.ts';
import { ssoDiscoverRoutes } from './sso/sign-in/sso-discover-routes.ts';
import { ssoPages } from './sso/sign-in/sso-page-routes.ts';
import { countSsoLogins } from './sso/sso-metrics.ts';
import type { Database } from './storage/open-database.ts';
import { invitationAdminRoutes } from './tenancy/invitations/invitation-admin-routes.ts';
import { invitationLinkRoutes } from './tenancy/invitations/invitation-link-routes.ts';
import { invitationPage } from './tenancy/invitations/invitation-page.ts';
import { invitationRoutes } from './tenancy/invitations/invitation-routes.ts';
import { auditQuotaRefusals } from './tenancy/quotas/quota-audit.ts';
import { quotaRoutes } from './tenancy/quotas/quota-routes.ts';
import { roleRoutes } from './tenancy/roles/role-routes.ts';
import { teamRoutes } from './tenancy/teams/team-routes.ts';
import { signInSettingsRoutes } from './tenancy/tenants/sign-in-settings-routes.ts';
import { tenantRoutes } from './tenancy/tenants/tenant-routes.ts';
import { userMfaRoutes } from './tenancy/users/user-mfa-routes.ts';
import { userRoutes } from './tenancy/users/user-routes.ts';
import { webhookRoutes } from './webhooks/endpoints/endpoint-routes.ts';
import type { OpenedWebhooks } from './webhooks/webhook-services.ts';

export const API_PREFIX = '/api/v1';

export interface AppDeps {
  readonly config: Config;
  readonly db: Database;
  /** Optional: without Redis a single node works; /health reports it when present. */
  readonly redis?: Redis | undefined;
  /** The server's logger, or pino options; default: pino at `logging.level`. */
  readonly logger?: AppLogger | undefined;
  /** The event store domain; default: opened on `db` here and closed with the app. */
  readonly events?: Events | undefined;
  /** Every store and service (composition-root.ts); default: composed on `db` here. */
  readonly services?: Services | undefined;
  /**
   * Rate limits: the Redis key prefix (default `tessera:ratelimit:`), how often a
   * Redis that failed is tried again (default 1000 ms), and the clock of this node's
   * own buckets (tests). Redis buckets always keep Redis's time.
   */
  readonly rateLimits?: RateLimitTuning | undefined;
}

export type TesseraApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * Every domain's routes, under /api/v1. A domain adds one `api.register(...)` line
 * here; each is an encapsulated plugin, so its hooks and decorators stay its own.
 */
const apiV1: FastifyPluginAsync<
  AppDeps & {
    events: Events;
    services: Services;
    webhooks: OpenedWebhooks;
    ipFilters: IpFilters;
    metrics: Registry;
    backups: BackupService;
  }
> = async (api, deps) => {
  const { services, ipFilters, config } = deps;
  const { identity, tenancy, protection } = services;
  // Before any route: the guard refuses routes that declare no access.
  installGuard(api, identity.guard);
  // After the guard, which names the tenant whose IP filters apply.
  ipFilters.enforcement.installTenant(api);
  // Then the rate limits: their preValidation hook runs after the guard's, which sets
  // the principal.
  if (config.rate_limits.enabled) {
    const limits = openRateLimits({
      config: config.rate_limits,
      redis: deps.redis,
      metrics: deps.metrics,
      log: api.log,
      ...deps.rateLimits,
    });
    installRateLimits(api, { ...limits, planOf: tenancy.quotas.planOf });
  }
  auditDeniedRequests(api, services.audit, { metrics: deps.metrics });
  auditQuotaRefusals(api, services.audit);
  await api.register(authRoutes, { auth: identity.auth });
  await api.register(magicLinkRoutes, { magicLinks: identity.magicLinks });
  await api.register(mfaRoutes, { secondStep: identity.mfa });
  await api.register(passkeyRoutes, { passkeys: identity.passkeys });
  await api.register(passkeyLoginRoutes, { passkeys: identity.passkeys });
  await api.register(emailVerificationRoutes, { verification: identity.emailVerification });
  await api.register(passwordResetRoutes, { passwordReset: identity.passwordReset });
  await api.register(sessionRoutes, { sessions: identity.sessionAdmin });
  await api.register(apiKeyRoutes, { apiKeys: identity.apiKeyAdmin });
  await api.register(oauthClientRoutes, { clients: identity.oauthClients.admin });
  await api.register(ssoConnectionRoutes, {
    connections: services.sso.connections,
    tickets: services.sso.tickets,
    base: services.sso.base,
  });
  await api.register(ssoDiscoverRoutes, { flow: services.sso.flow });
  await api.register(deprovisioningRoutes, { deprovisioning: services.sso.deprovisioning });
  await api.register(webhookRoutes, { endpoints: deps.webhooks.endpoints });
  await api.register(totpRoutes, { totp: identity.totp });
  await api.register(recoveryCodeRoutes, { recoveryCodes: identity.recoveryCodes });
  await api.register(tenantRoutes, {
    tenants: tenancy.tenantAdmin,
    memberships: tenancy.members,
    invitations: tenancy.tenantInvitations,
  });
  await api.register(signInSettingsRoutes, { settings: tenancy.signInSettings });
  await api.register(quotaRoutes, {
    quotas: tenancy.quotas,
    memberFactors: tenancy.memberFactors,
  });
  await api.register(userRoutes, { users: tenancy.userAdmin });
  await api.register(userMfaRoutes, { mfa: tenancy.userMfa });
  await api.register(ownFactorsRoutes, { factors: identity.ownFactors });
  await api.register(invitationRoutes, { invitations: tenancy.invitations });
  await api.register(invitationAdminRoutes, {
    emailInvitations: tenancy.emailInvitations,
    tenantInvitations: tenancy.tenantInvitations,
  });
  await api.register(invitationLinkRoutes, { links: tenancy.invitationLinks });
  await api.register(teamRoutes, { teams: tenancy.teams });
  await api.register(roleRoutes, { roles: tenancy.roles });
  await api.register(ipFilterRoutes, { ipFilters: ipFilters.service });
  await api.register(emailSettingsRoutes, { settings: services.email.settings });
  const subscriptionLimits = createSubscriptionLimits(
    config.subscriptions,
    tenancy.quotas.planOf,
    deps.redis && {
      slots: createRedisTenantSlots(deps.redis),
      onError: (error) =>
        api.log.warn({ err: error }, 'subscription slots: Redis failed, counting on this node'),
    },
  );
  api.addHook('onClose', async () => subscriptionLimits.close());
  await api.register(eventRoutes, {
    events: deps.events,
    subscriptionLimits,
    corsOrigins: config.server.cors_origins,
  });
  await api.register(ticketRoutes, { tickets: services.events.tickets });
  await api.register(auditRoutes, {
    events: deps.events.service,
    maxPageBytes: config.storage.max_read_page_bytes,
  });
  await api.register(ledgerRoutes, { verifier: services.ledger.verifier });
  await api.register(lockoutRoutes, { lockouts: protection.lockouts });
  await api.register(backupRoutes, { backups: deps.backups, audit: services.audit });
  await api.register(checkpointRoutes, { checkpoints: services.ledger.checkpoints });
  await api.register(proofRoutes, { proofs: services.ledger.proofs });
};

/**
 * Builds the HTTP app without listening (tests use `inject()`, the server calls
 * `listen()`). The order matters: problem handlers and OpenAPI first, since both
 * watch routes being added; request id and security headers before CORS, whose
 * preflight answer ends the onRequest chain.
 */
export async function buildApp(deps: AppDeps): Promise<TesseraApp> {
  const { config, db, redis } = deps;
  const security = securityHeadersFor(config.server);
  const app = Fastify({
    ...loggerSettings(config, deps.logger),
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: !config.logging.requests,
    }),
    requestIdHeader: false,
    // Requests arriving while closing get a problem document from installDraining.
    return503OnClosing: false,
    genReqId: genRequestId,
    bodyLimit: config.server.body_limit_bytes,
    // Header, request and keep-alive timeouts (connection-limits.ts).
    ...timeoutSettings(config.server),
    // request.ip is the peer, or what X-Forwarded-For says only when the peer is a
    // trusted proxy: a client elsewhere cannot choose the IP it is limited or filtered by.
    trustProxy: config.server.trusted_proxies.length > 0 ? config.server.trusted_proxies : false,
    // An entity id is up to 256 characters; percent-encoded 4-byte characters take
    // 12 URL characters each. Longer ids still get a 400 from the route schema.
    routerOptions: { maxParamLength: 256 * 12 },
    frameworkErrors: frameworkErrorHandler((request, reply) => {
      setRequestIdHeader(request, reply);
      security(request, reply);
    }),
    // Unknown properties are rejected (where a schema says additionalProperties:
    // false), not silently dropped: a misspelt field must not look accepted.
    ajv: { customOptions: { removeAdditional: false } },
    // Bodies uncoerced, integers safe: see validator-compiler.ts (issue 15). Both
    // compiled once per process, however many apps it builds (compiled-schemas.ts).
    schemaController: {
      compilersFactory: {
        buildValidator: tesseraValidators(),
        buildSerializer: sharedSerializers(),
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  limitConnections(app.server, config.server);
  closeAnsweredUpgrades(app);
  installProblemHandlers(app);
  installJsonBody(app, { maxDepth: config.server.max_json_depth });
  installRequestId(app);
  installDraining(app);
  installSecurityHeaders(app, security);
  await registerCors(app, config.server.cors_origins);
  await registerCompression(app);
  installRequestTextCheck(app);
  await registerOpenApi(app);
  const metrics = installMetrics(app, config.metrics);
  const services = deps.services ?? composeServices(db, config);
  const { tenancy } = services;
  const stopCountingAuth = countAuthAttempts(metrics, services.protection.attempts);
  const stopCountingSso = countSsoLogins(metrics, services.sso.logins);
  app.addHook('onClose', async () => {
    stopCountingAuth();
    stopCountingSso();
  });
  // Global IP filters: before every route, the probes excepted, so an orchestrator
  // can always tell whether the node is up.
  const ipFilters = openIpFilters(
    db,
    services.audit,
    services.tenancy.lockTenant,
    metrics,
    app.log,
    config.server.ip_filter_refresh_ms,
  );
  ipFilters.enforcement.installGlobal(app, PROBE_PATHS);
  // Every node cache (credentials, quotas, IP filters) follows db.changes: from here
  // on it also hears other nodes and processes. onClose hooks run last-added first,
  // so the IP filters let go of the feed before it stops.
  const hearing = await db.changes
    .start({ onError: (error) => app.log.warn({ err: error }, 'change feed connection problem') })
    .catch((error: unknown) => {
      ipFilters.close();
      throw error;
    });
  app.addHook('onClose', () => hearing.stop());
  app.addHook('onClose', async () => ipFilters.close());
  await app.register(healthRoutes, { db, redis });
  const events =
    deps.events ??
    (await openEvents(db, config, {
      quotas: tenancy.quotas,
      onSnapshotError: (error, entityId) =>
        app.log.error({ err: error, entity_id: entityId }, 'automatic snapshot failed'),
      onNotifierError: (error) => app.log.warn({ err: error }, 'event notifier connection problem'),
      onSubscriptionError: (error, tenantId) =>
        app.log.error({ err: error, tenant_id: tenantId }, 'subscription: reading the log failed'),
    }));
  subscriptionMetrics(metrics, events.subscriptions);
  // Accepted appends finish before the database closes.
  if (!deps.events) app.addHook('onClose', () => events.close());
  // Delivers endpoints this node claims; stops (deliveries in flight finish, leases go
  // back) before the event store and the database close.
  const webhooks = services.webhooks.open({ events, log: app.log, metrics });
  app.addHook('onClose', () => webhooks.stop());
  await app.register(wellKnownRoutes, { keys: services.identity.keys });
  const observer = backupMetrics(metrics);
  const backups = createBackupService({ db, config, audit: services.audit, observer });
  // The pages emails link to (outside /api/v1, no guard: each is opened with its token).
  await app.register(
    pagesPlugin({ secureCookies: publicUrlOf(config).startsWith('https:') }, [
      // One line per page: `featurePage(services...)`.
      magicLinkPage(services.identity.magicLinks),
      emailVerificationPage(services.identity.emailVerification),
      passwordResetPage(services.identity.passwordReset),
      invitationPage({
        links: tenancy.invitationLinks,
        passwordMinLength: config.auth.password_min_length,
      }),
      // The OpenID Provider's hosted sign-in (issue 19): password, passkey, email, enrollment.
      ...hostedSignInPages(
        {
          identity: services.identity,
          brandingOf: services.email.settings.brandingOfTenant,
          emailConfigured: services.email.mailer.configured,
          federation: services.sso.hosted,
        },
        config,
      ),
      // Single sign-on's start, callback, ACS, SP metadata and completion (issue 20).
      ssoPages({
        flow: services.sso.flow,
        tickets: services.sso.tickets,
        secureCookies: publicUrlOf(config).startsWith('https:'),
        requestTtlSeconds: config.sso.request_ttl_seconds,
      }),
    ]),
  );
  // The OpenID Provider's endpoints: oidc-provider, handed the raw requests.
  await app.register(oidcMount({ provider: services.identity.oidc.provider }));
  await app.register(apiV1, {
    ...deps,
    events,
    services,
    webhooks,
    ipFilters,
    metrics,
    backups,
    prefix: API_PREFIX,
  });
  // Sends what any node queued; stops (waiting for the message in flight) before the
  // database closes.
  const delivery = startEmailDelivery({
    db,
    settings: config.email,
    mailer: services.email.mailer,
    log: app.log,
    metrics,
  });
  if (delivery) app.addHook('onClose', () => delivery.stop());
  // SSO deprovisioning: idempotent, so every node runs it; it stops before the database closes.
  const stopDeprovisioning = startDeprovisioning(
    services.sso.deprovisioning,
    config.sso.deprovision_interval_seconds * 1000,
    app.log,
  );
  app.addHook('onClose', () => stopDeprovisioning());
  // Ledger checkpoints: every node signs the partitions due (one row per head, whoever
  // wins); stops, waiting for a tick in progress, before the database closes.
  const stopCheckpointing = startCheckpointing(
    services.ledger.checkpointScheduler,
    Math.min(MAX_TICK_MS, config.ledger.checkpoint_interval_seconds * 1000),
    app.log,
  );
  app.addHook('onClose', () => stopCheckpointing());
  // The background verifier: each node re-checks the newest segment of every chain
  // and raises tessera_ledger_broken_partitions and a log error on a break.
  const stopVerifying = startBackgroundVerifier(
    createBackgroundVerifier({
      kysely: db.kysely,
      chain: events.chain,
      keys: services.identity.keys,
      metrics,
      log: app.log,
    }),
    config.ledger.verify_interval_seconds,
    app.log,
  );
  app.addHook('onClose', () => stopVerifying());
  const intervalMs = parseInterval(config.backup.interval);
  if (intervalMs !== undefined) {
    const schedule = startBackupSchedule({
      db,
      backups,
      intervalMs,
      log: app.log,
      metrics: observer,
    });
    // Waits for a backup in progress, before the database closes.
    app.addHook('onClose', () => schedule.stop());
  }
  return app;
}
