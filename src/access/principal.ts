import type { Permission } from './permissions.ts';

/** Who is calling, resolved once per request from its credentials. */
export interface Principal {
  readonly kind: 'user' | 'api_key';
  /** The tenant every store call of the request uses: never taken from path, query or body. */
  readonly tenantId: string;
  /** The user (for an API key: its creator, if any). */
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly apiKeyId: string | null;
  readonly roles: readonly string[];
  readonly permissions: ReadonlySet<Permission>;
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
  }
  interface FastifyRequest {
    /** Set for every route but the public ones (and those with optional credentials, when sent). */
    principal: Principal | null;
    /** The principal's tenant: every store call of the request takes it first. */
    tenantId: string;
  }
}
