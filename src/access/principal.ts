import type { Permission } from './permissions.ts';

/** Who is calling, resolved once per request from its credentials. */
export interface Principal {
  /** `oauth_client`: a machine client of the OpenID Provider (client credentials, issue 19). */
  readonly kind: 'user' | 'api_key' | 'oauth_client';
  /** The tenant every store call of the request uses: never taken from path, query or body. */
  readonly tenantId: string;
  /** The user (for an API key: its creator, if any). */
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly apiKeyId: string | null;
  /** The OAuth client of an `oauth_client` principal. */
  readonly clientId?: string;
  readonly roles: readonly string[];
  readonly permissions: ReadonlySet<Permission>;
  /**
   * A session's sign-in and later proofs (issue 18); absent for API keys. Times in
   * epoch ms; `reauthMs` the last password or factor check, `secondFactorMs` the last
   * second-factor check (null: none).
   */
  readonly authentication?: {
    readonly amr: readonly string[];
    readonly authTimeMs: number;
    readonly reauthMs: number | null;
    readonly secondFactorMs: number | null;
  };
  /** Whether the tenant's MFA policy covers this session's user (never an API key). */
  readonly mfaRequired?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the route requires. Every /api/v1 route declares one: a permission, or
     * `'public'` (no credentials) or `'authenticated'` (any valid credentials).
     */
    access?: Permission | 'public' | 'authenticated';
    /**
     * A public route that still authenticates credentials when they are sent (and
     * refuses bad ones): it answers anyone, and more to a signed-in caller.
     */
    optionalCredentials?: boolean;
    /**
     * A sensitive operation (issue 18): where the tenant's MFA policy covers the
     * caller, it needs a second-factor check within `mfa.step_up_seconds`
     * (403 step_up_required otherwise). API keys are not asked: creating one was.
     */
    stepUp?: boolean;
    /**
     * Open to a session that the tenant's MFA policy covers but that has proved no
     * second factor: enrolling or proving one, and knowing who you are. Every other
     * route answers such a session 403 mfa_enrollment_required (or step_up_required
     * when the user has a factor to prove).
     */
    mfaSetup?: boolean;
  }
  interface FastifyRequest {
    /** Set for every route but the public ones (and those with optional credentials, when sent). */
    principal: Principal | null;
    /** The principal's tenant: every store call of the request takes it first. */
    tenantId: string;
  }
}
