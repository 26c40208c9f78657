import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccessErrors } from '../../access/errors.ts';
import { mfaPolicyCovers } from '../../access/mfa-policy.ts';
import type { Permission } from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import type { TicketGrant } from '../../access/ticket-grant.ts';
import { TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';
import { digestSecret } from '../../platform/secrets.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import type { ApiKeyOwner, LookupApiKey } from '../api-keys/api-key-lookup.ts';
import { API_KEY_PREFIX, type ApiKeyStore } from '../api-keys/api-key-store.ts';
import { IdentityErrors } from '../errors.ts';
import { MfaErrors } from '../mfa/mfa-errors.ts';
import type { SessionRecord, SessionStore } from '../sessions/session-store.ts';
import type { CustomRoleLookup } from '../tenancy-port.ts';
import type { CredentialCache } from './credential-cache.ts';

/** The claims the guard needs from a verified access token. */
export interface VerifiedAccess {
  readonly sub: string;
  readonly tid: string;
  /** Empty for a machine client's token (client credentials). */
  readonly sid: string;
  /** Set on the OpenID Provider's tokens: the client, and the scopes that bound the token. */
  readonly client_id?: string;
  readonly scope?: string;
}

/** A registered OAuth client as the guard weighs a machine client's token. */
export interface MachineClient {
  readonly id: string;
  readonly created_by: string | null;
  readonly tenant_id: string;
  readonly role: string | null;
  readonly grant_types: readonly string[];
  readonly tenant_status: string;
  /** Its creator's roles in the tenant now ([] when no active member); null: no creator. */
  readonly creator_roles: readonly string[] | null;
}

export interface GuardDeps {
  /** Verifies signature, algorithm, issuer, audience and expiry; throws a 401 TesseraError. */
  readonly verifyAccessToken: (token: string) => Promise<VerifiedAccess>;
  readonly sessions: SessionStore;
  readonly apiKeys: Pick<ApiKeyStore, 'touch'>;
  /** The key of a secret's digest with its tenant's state and its creator's roles. */
  readonly lookupApiKey: LookupApiKey;
  /** Lookups of API keys and sessions go through it. */
  readonly credentials: CredentialCache;
  /** Tenants' custom roles, consulted only for principals holding one. */
  readonly customRoles: CustomRoleLookup;
  readonly now?: () => number;
  /** Told whether each presented API key or access token authenticated (metrics). */
  readonly attempts?: Pick<AuthAttempts, 'attempt'> | undefined;
  /**
   * Spends a subscription ticket (routes with `config.subscriptionTicket`); throws a
   * 401 TesseraError when it is unknown, used or expired. Absent: tickets are refused.
   */
  readonly redeemTicket?: ((ticket: string) => Promise<TicketGrant>) | undefined;
  /** The OAuth client registry (issue 19); absent: machine clients' tokens are refused. */
  readonly lookupClient?: ((clientId: string) => Promise<MachineClient | undefined>) | undefined;
  /**
   * The MFA policy's enforcement (issue 18): how recent a step-up must be, and whether
   * a user has a factor to prove (asked only of a covered session with none proved).
   * Absent: no route asks for a second factor.
   */
  readonly mfa?:
    | {
        readonly stepUpSeconds: number;
        readonly hasFactor: (userId: string) => Promise<boolean>;
      }
    | undefined;
}

/**
 * Authenticates every request of the scope it is installed in and enforces the
 * route's declared `access`. A route that declares nothing cannot even be added:
 * forgetting a permission fails the build of the app, not open a hole.
 */
export function installGuard(app: FastifyInstance, deps: GuardDeps): void {
  const now = deps.now ?? Date.now;
  app.decorateRequest('principal', null);
  app.decorateRequest('tenantId', '');
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access (config.access)`);
    }
  });
  // Before schema validation: a caller without valid credentials gets 401/403, never a
  // 400 that describes the route's schema.
  app.addHook('preValidation', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === 'public' && !(request.routeOptions.config.optionalCredentials && sent(request)))
      return;
    const at = now();
    const principal = await authenticate(request, deps, at);
    request.principal = principal;
    request.tenantId = principal.tenantId;
    const { mfaSetup, stepUp } = request.routeOptions.config;
    if (deps.mfa && principal.mfaRequired)
      await requireSecondFactor(principal, deps.mfa, at, { mfaSetup, stepUp: false });
    if (
      access !== 'public' &&
      access !== 'authenticated' &&
      !principal.permissions.has(access as never)
    ) {
      throw new TesseraError(
        AccessErrors.permission_denied,
        `This needs the ${access} permission, which your roles do not grant.`,
        {
          extensions: { permission: access },
        },
      );
    }
    if (deps.mfa && principal.mfaRequired && stepUp) {
      await requireSecondFactor(principal, deps.mfa, at, { mfaSetup, stepUp });
    }
  });
}

/**
 * A session the tenant's MFA policy covers: one that proved no second factor may only
 * set one up (or prove the one it has); a sensitive route needs a recent proof.
 */
async function requireSecondFactor(
  principal: Principal,
  mfa: NonNullable<GuardDeps['mfa']>,
  at: number,
  route: { mfaSetup: boolean | undefined; stepUp: boolean },
): Promise<void> {
  const proved = principal.authentication?.secondFactorMs ?? null;
  if (proved === null && !route.mfaSetup) {
    if (principal.userId !== null && (await mfa.hasFactor(principal.userId))) {
      throw new TesseraError(
        MfaErrors.step_up_required,
        'Your tenant requires a second factor: prove one with POST /api/v1/auth/mfa/step-up.',
      );
    }
    throw new TesseraError(
      MfaErrors.mfa_enrollment_required,
      'Your tenant requires a second factor and you have none: enroll one (POST /api/v1/auth/mfa/totp or a passkey) first.',
    );
  }
  if (route.stepUp && (proved === null || at - proved > mfa.stepUpSeconds * 1000)) {
    throw new TesseraError(
      MfaErrors.step_up_required,
      `This operation needs a second-factor check within the last ${mfa.stepUpSeconds} seconds: POST /api/v1/auth/mfa/step-up.`,
      { extensions: { step_up_seconds: mfa.stepUpSeconds } },
    );
  }
}

/** Whether the request carries credentials (for a route where they are optional). */
function sent(request: FastifyRequest): boolean {
  return request.headers['x-api-key'] !== undefined || request.headers.authorization !== undefined;
}

const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="tessera"' };

async function authenticate(
  request: FastifyRequest,
  deps: GuardDeps,
  at: number,
): Promise<Principal> {
  const apiKey = request.headers['x-api-key'];
  const ticket = ticketOf(request);
  if (ticket !== undefined && apiKey === undefined && request.headers.authorization === undefined) {
    return byTicket(ticket, deps, at);
  }
  // X-API-Key carries API keys only; a token sent there is refused, not accepted.
  if (typeof apiKey === 'string' && apiKey !== '') {
    return counted('api_key', byApiKey(apiKey, deps, at), deps);
  }
  const bearer = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer === undefined) {
    throw new TesseraError(
      HttpErrors.unauthorized,
      'Send an access token (Authorization: Bearer) or an API key (X-API-Key).',
      { headers: WWW_AUTHENTICATE },
    );
  }
  return bearer.startsWith(API_KEY_PREFIX)
    ? counted('api_key', byApiKey(bearer, deps, at), deps)
    : counted('access_token', byAccessToken(bearer, deps, at), deps);
}

/** Reports how a presented credential fared; a request with none is no attempt. */
async function counted(
  method: 'api_key' | 'access_token',
  authenticating: Promise<Principal>,
  deps: GuardDeps,
): Promise<Principal> {
  try {
    const principal = await authenticating;
    deps.attempts?.attempt(method, 'success');
    return principal;
  } catch (error) {
    deps.attempts?.attempt(method, 'failure');
    throw error;
  }
}

/** `?ticket=` on a route that accepts subscription tickets (browsers' EventSource, WebSocket). */
function ticketOf(request: FastifyRequest): string | undefined {
  if (request.routeOptions.config.subscriptionTicket !== true) return undefined;
  const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
  return typeof ticket === 'string' ? ticket : undefined;
}

/**
 * A ticket stands for the credential it was issued to, authenticated again here as
 * if it were presented: a session logged out or a key revoked since, a tenant
 * suspended, a role changed, all take effect; the route's permission is checked on
 * the principal this yields, like any other.
 */
async function byTicket(ticket: string, deps: GuardDeps, at: number): Promise<Principal> {
  if (!deps.redeemTicket) {
    throw new TesseraError(HttpErrors.unauthorized, 'Subscription tickets are not accepted here.', {
      headers: WWW_AUTHENTICATE,
    });
  }
  const { tenantId, credential } = await deps.redeemTicket(ticket);
  const principal =
    credential.kind === 'api_key'
      ? await byApiKeyDigest(credential.digest, deps, at)
      : await bySession(
          { sid: credential.sessionId, sub: credential.userId, tid: tenantId },
          deps,
          at,
        );
  if (principal.tenantId !== tenantId) {
    throw new TesseraError(IdentityErrors.session_revoked, 'The ticket’s credential has changed.', {
      headers: WWW_AUTHENTICATE,
    });
  }
  return principal;
}

/** The key a presented secret's digest belongs to (through the node's cache), if any. */
async function findApiKey(digest: string, deps: GuardDeps): Promise<ApiKeyOwner | undefined> {
  return deps.credentials.through(
    `api_key:${digest}`,
    () => deps.lookupApiKey(digest),
    // Its creator's membership caps it: a change to their roles drops it too.
    (found) => ({
      tenant: found.tenant_id,
      user: found.created_by,
      session: null,
      api_key: found.id,
    }),
  );
}

function byApiKey(secret: string, deps: GuardDeps, at: number): Promise<Principal> {
  // One digest serves the lookup and the cache key: the cache holds no secret a heap
  // dump could give away. A secret without our prefix is no key of ours.
  const digest = secret.startsWith(API_KEY_PREFIX) ? digestSecret(secret) : '';
  return byApiKeyDigest(digest, deps, at);
}

async function byApiKeyDigest(digest: string, deps: GuardDeps, at: number): Promise<Principal> {
  const key = digest === '' ? undefined : await findApiKey(digest, deps);
  if (!key || key.tenant_status === 'deleted') {
    throw new TesseraError(AccessErrors.api_key_invalid, 'The API key is not valid.', {
      headers: WWW_AUTHENTICATE,
    });
  }
  if (key.revoked_ms !== null)
    throw new TesseraError(AccessErrors.api_key_revoked, 'The API key was revoked.', {
      headers: WWW_AUTHENTICATE,
    });
  if (key.expires_ms !== null && key.expires_ms <= at) {
    throw new TesseraError(AccessErrors.api_key_expired, 'The API key has expired.', {
      headers: WWW_AUTHENTICATE,
    });
  }
  if (key.tenant_status !== 'active') throw suspended(key.tenant_id);
  if (key.creator_roles?.length === 0) {
    throw new TesseraError(
      AccessErrors.api_key_creator_gone,
      'The creator of this API key is no active member of its tenant any more.',
      { headers: WWW_AUTHENTICATE },
    );
  }
  await deps.apiKeys.touch(key.id);
  return {
    kind: 'api_key',
    tenantId: key.tenant_id,
    userId: key.created_by,
    sessionId: null,
    apiKeyId: key.id,
    roles: [key.role],
    permissions: await cappedPermissions(key, deps),
  };
}

/**
 * A key does at most what its role allows and, when a user made it, what that user
 * may still do in the tenant (issue 15): demoting the creator demotes their keys.
 */
async function cappedPermissions(
  key: ApiKeyOwner,
  deps: GuardDeps,
): Promise<ReadonlySet<Permission>> {
  const own = await deps.customRoles.permissionsOf([key.role], key.tenant_id);
  if (key.creator_roles === null) return own;
  const creator = await deps.customRoles.permissionsOf(key.creator_roles, key.tenant_id);
  return new Set([...own].filter((permission) => creator.has(permission)));
}

async function byAccessToken(token: string, deps: GuardDeps, at: number): Promise<Principal> {
  const claims = await deps.verifyAccessToken(token);
  if (claims.client_id === undefined) return bySession(claims, deps, at);
  const principal =
    claims.sid === '' ? await byMachineClient(claims, deps) : await bySession(claims, deps, at);
  return withinScope(principal, claims.scope);
}

/**
 * A token of the OpenID Provider does what its scopes name, and no more than its
 * principal may: a permission scope (`events:read`) that the roles do not grant gives
 * nothing, and a token with no permission scope can call only what any signed-in
 * caller can.
 */
function withinScope(principal: Principal, scope: string | undefined): Principal {
  const scopes = new Set((scope ?? '').split(' '));
  const permissions = new Set([...principal.permissions].filter((name) => scopes.has(name)));
  return { ...principal, permissions };
}

/**
 * A machine client (client credentials) acts with its role in its tenant, capped like
 * an API key by what its creator may still do. Looked up on every request (through the
 * node's cache, which a change to the client empties): deleting the client, or
 * suspending its tenant, stops its tokens at once.
 */
async function byMachineClient(claims: VerifiedAccess, deps: GuardDeps): Promise<Principal> {
  const clientId = claims.client_id ?? '';
  const client =
    deps.lookupClient === undefined
      ? undefined
      : await deps.credentials.through(
          `oauth_client:${clientId}`,
          () => (deps.lookupClient as NonNullable<GuardDeps['lookupClient']>)(clientId),
          // Its creator's membership caps it: a change to their roles drops it too.
          (found) => ({
            tenant: found.tenant_id,
            user: found.created_by,
            session: null,
            api_key: null,
            oauth_client: found.id,
          }),
        );
  if (
    !client ||
    client.tenant_id !== claims.tid ||
    client.tenant_status === 'deleted' ||
    client.role === null ||
    !client.grant_types.includes('client_credentials') ||
    client.creator_roles?.length === 0
  ) {
    throw new TesseraError(IdentityErrors.session_revoked, 'The client of this token is gone.', {
      headers: WWW_AUTHENTICATE,
    });
  }
  if (client.tenant_status !== 'active') throw suspended(client.tenant_id);
  const key = {
    role: client.role,
    tenant_id: client.tenant_id,
    creator_roles: client.creator_roles,
  };
  return {
    kind: 'oauth_client',
    tenantId: client.tenant_id,
    userId: null,
    sessionId: null,
    apiKeyId: null,
    clientId: client.id,
    roles: [client.role],
    permissions: await cappedPermissions(key as ApiKeyOwner, deps),
  };
}

async function bySession(claims: VerifiedAccess, deps: GuardDeps, at: number): Promise<Principal> {
  // Checked on every request (from the node's cache, which every change to the
  // session, its user's roles or its tenant empties), so logout and revocation take
  // effect at once.
  const session = await deps.credentials.through(
    `session:${claims.sid}`,
    () => deps.sessions.find(claims.sid),
    (found) => ({
      tenant: found.tenant_id,
      user: found.user_id,
      session: found.id,
      api_key: null,
    }),
  );
  if (
    !session ||
    session.revoked_ms !== null ||
    session.expires_ms <= at ||
    session.user_id !== claims.sub ||
    session.tenant_id !== claims.tid ||
    // Deactivating a membership revokes its sessions; this holds even if one slipped by.
    session.membership_status === 'deactivated'
  ) {
    throw new TesseraError(
      IdentityErrors.session_revoked,
      'The session of this token has ended; log in again.',
      { headers: WWW_AUTHENTICATE },
    );
  }
  // A deleted tenant's credentials are dead, like an API key's of that tenant.
  if (session.tenant_status === 'deleted') {
    throw new TesseraError(
      IdentityErrors.session_revoked,
      'The tenant of this session was deleted.',
      {
        headers: WWW_AUTHENTICATE,
      },
    );
  }
  if (session.tenant_status !== 'active') throw suspended(session.tenant_id);
  await deps.sessions.touch(session.id);
  const permissions = await deps.customRoles.permissionsOf(session.roles, session.tenant_id);
  return sessionPrincipal(session, permissions);
}

/** The principal a live session stands for, given its roles' permissions now. */
export function sessionPrincipal(
  session: SessionRecord,
  permissions: ReadonlySet<Permission>,
): Principal {
  return {
    kind: 'user',
    tenantId: session.tenant_id,
    userId: session.user_id,
    sessionId: session.id,
    apiKeyId: null,
    roles: session.roles,
    permissions,
    authentication: {
      amr: session.amr,
      authTimeMs: session.auth_time_ms,
      reauthMs: session.reauth_ms,
      secondFactorMs: session.second_factor_ms,
    },
    mfaRequired: mfaPolicyCovers(session.mfa_required, permissions),
  };
}

function suspended(tenantId: string): TesseraError {
  return new TesseraError(AccessErrors.tenant_suspended, `Tenant ${tenantId} is suspended.`);
}
