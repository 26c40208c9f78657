import type { TesseraApp } from '../../src/app.ts';
import type { Services } from '../../src/composition-root.ts';

/** Creates the tenant unless it exists, and an API key with `role` in it; returns the key. */
export async function apiKeyFor(
  services: Services,
  tenantId: string,
  role = 'admin',
): Promise<string> {
  if (!(await services.tenancy.tenants.get(tenantId))) {
    // Unlimited: quotas are tested on tenants of their own, not in every suite by chance.
    await services.tenancy.tenants.create({ id: tenantId, name: tenantId, plan: 'unlimited' });
  }
  const { secret } = await services.identity.apiKeys.create({
    tenant_id: tenantId,
    name: `test ${role}`,
    role,
    created_by: null,
    expires_ms: null,
  });
  return secret;
}

/**
 * Every request that carries no credentials gets `key`: for tests about something
 * other than authentication. Tests of authentication build apps without it.
 */
export function actAs(app: TesseraApp, key: string): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers['x-api-key'] === undefined && request.headers.authorization === undefined) {
      request.headers['x-api-key'] = key;
    }
    done();
  });
}
