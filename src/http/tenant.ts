import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the request acts in; every store call takes it first. */
    tenantId: string;
  }
}

/**
 * Until identity arrives every request runs in the configured default tenant. This
 * is the one place that decides a request's tenant, so authentication replaces it
 * here and no route changes.
 */
export function installTenant(app: FastifyInstance, defaultTenant: string): void {
  app.decorateRequest('tenantId', '');
  app.addHook('onRequest', (request, _reply, done) => {
    request.tenantId = defaultTenant;
    done();
  });
}
