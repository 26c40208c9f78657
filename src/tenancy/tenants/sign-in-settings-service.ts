import type { Actor } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import {
  createSignInSettingsStore,
  type SignInSettings,
  type TenantSignIn,
} from './sign-in-settings-store.ts';
import { checkTenantAccess } from './tenant-access.ts';

export interface SignInSettingsServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  readonly now?: () => number;
}

function notFound(id: string): TesseraError {
  return new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${id}`);
}

/**
 * A redirect URI must be an absolute http(s) URL without a fragment (a magic link puts
 * the tokens in the fragment); plain http only for loopback addresses, where a local
 * app listens.
 */
function checkRedirectUris(uris: readonly string[]): void {
  for (const [index, uri] of uris.entries()) {
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      url = undefined;
    }
    const loopback = url && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    const fine =
      url &&
      url.hash === '' &&
      !uri.includes('#') &&
      url.username === '' &&
      (url.protocol === 'https:' || (url.protocol === 'http:' && loopback));
    if (!fine) {
      throw new TesseraError(
        TenancyErrors.invalid_redirect_uri,
        `redirect_uris[${index}] must be an absolute https URL (http only on localhost) without a fragment or credentials.`,
        { errors: [{ path: `/redirect_uris/${index}`, message: 'not an allowed redirect URI' }] },
      );
    }
  }
}

/**
 * `/tenants/{id}/sign-in-settings`: platform administrators on any tenant, and
 * `tenant:read` / `tenant:manage` in one's own (checked from the principal first).
 */
export function createSignInSettingsService(deps: SignInSettingsServiceDeps) {
  const { db, audit } = deps;
  const now = deps.now ?? Date.now;
  return {
    async get(principal: Principal, tenantId: string): Promise<TenantSignIn> {
      checkTenantAccess(principal, tenantId, 'tenant:read');
      const found = await createSignInSettingsStore(db.kysely).get(tenantId);
      if (!found) throw notFound(tenantId);
      return found;
    },

    async update(
      actor: Actor,
      tenantId: string,
      changes: Partial<SignInSettings>,
    ): Promise<TenantSignIn> {
      checkTenantAccess(actor.principal, tenantId, 'tenant:manage');
      if (changes.redirect_uris) checkRedirectUris(changes.redirect_uris);
      return db.transaction(async (trx: AnyKysely) => {
        const store = createSignInSettingsStore(trx);
        if (!(await store.change(tenantId, changes, now()))) throw notFound(tenantId);
        await audit.inTransaction(trx, actor.audit, [
          {
            tenant_id: tenantId,
            action: 'tenant.sign_in_settings_updated',
            target: `tenant:${tenantId}`,
            outcome: 'success',
            details: { ...changes },
          },
        ]);
        return (await store.get(tenantId)) as TenantSignIn;
      });
    },
  };
}

export type SignInSettingsService = ReturnType<typeof createSignInSettingsService>;
