import type { Actor } from '../../access/actor.ts';
import { MFA_POLICIES } from '../../access/mfa-policy.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import {
  createSignInSettingsStore,
  type SignInSettings,
  type TenantSignIn,
} from './sign-in-settings-store.ts';
import {
  checkSsoRules,
  checkSsoShapes,
  type HasEnabledSsoConnection,
} from './sso-sign-in-rules.ts';
import { checkTenantAccess } from './tenant-access.ts';

export interface SignInSettingsServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  /**
   * Told after a change commits: sessions carry their tenant's MFA policy, so every
   * node's credential cache must drop them (other nodes hear it from the database).
   */
  readonly changes: CredentialChanges;
  /** Asked before `sso_enforced` is turned on (sso sits above tenancy: a port, not an import). */
  readonly hasEnabledSsoConnection: HasEnabledSsoConnection;
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

/** The routes' schema already refuses other values; the CLI and tests call this directly. */
function checkMfaPolicy(policy: string | undefined): void {
  if (policy === undefined || (MFA_POLICIES as readonly string[]).includes(policy)) return;
  throw validationFailed([
    { path: '/mfa_required', message: `must be one of ${MFA_POLICIES.join(', ')}` },
  ]);
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
      checkMfaPolicy(changes.mfa_required);
      checkSsoShapes(changes);
      const ssoConfigured =
        changes.sso_enforced === true && (await deps.hasEnabledSsoConnection(tenantId));
      const updated = await db.transaction(async (trx: AnyKysely) => {
        const store = createSignInSettingsStore(trx);
        const current = await store.get(tenantId);
        if (!current) throw notFound(tenantId);
        await checkSsoRules(trx, current, changes, ssoConfigured);
        if (!(await store.change(tenantId, changes, now()))) throw notFound(tenantId);
        const after = (await store.get(tenantId)) as TenantSignIn;
        // Enforcing SSO (say, after a leaked password) ends the sessions it would now
        // refuse to start: those not proved through the IdP, break-glass admins' aside.
        const ended =
          after.sso_enforced &&
          (changes.sso_enforced !== undefined || changes.sso_break_glass !== undefined)
            ? await identityIn(trx).sessions.revokeUnfederated(
                tenantId,
                after.sso_break_glass,
                'sso_enforced',
              )
            : 0;
        await audit.inTransaction(trx, actor.audit, [
          {
            tenant_id: tenantId,
            action: 'tenant.sign_in_settings_updated',
            target: `tenant:${tenantId}`,
            outcome: 'success',
            details: { ...changes, ...(ended > 0 ? { sessions_revoked: ended } : {}) },
          },
        ]);
        return after;
      });
      // Sessions carry the MFA policy, and enforcing SSO revokes some: every node's
      // cached sessions of the tenant are dropped so none outlives a policy change.
      if (
        changes.mfa_required !== undefined ||
        changes.sso_enforced !== undefined ||
        changes.sso_break_glass !== undefined
      ) {
        deps.changes.changed({ kind: 'tenant', id: tenantId });
      }
      return updated;
    },
  };
}

export type SignInSettingsService = ReturnType<typeof createSignInSettingsService>;
