import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { everyInterval, type PeriodicLog } from '../../platform/every-interval.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { deprovisioningTenants } from '../../tenancy/tenants/deprovisioning-tenants.ts';
import type { FederatedMembers } from '../../tenancy/users/federated-members.ts';
import { createSsoIdentityStore } from '../sign-in/sso-identity-store.ts';

const DAY_MS = 86_400_000;
/** Members looked at per query, and queries per tenant in one run: a run's work is bounded. */
const PAGE = 200;
const MAX_PAGES = 50;

export interface DeprovisioningDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  readonly members: Pick<FederatedMembers, 'deactivateIdle' | 'activeAmong'>;
  readonly changes: CredentialChanges;
  readonly now?: () => number;
}

export interface Deprovisioned {
  readonly tenant_id: string;
  readonly user_id: string;
}

const SYSTEM_CONTEXT: AuditContext = {
  actor: 'sso_deprovisioning',
  actor_type: 'system',
  ip: null,
  user_agent: null,
  request_id: null,
};

/**
 * SSO deprovisioning (issue 20 item 3): in a tenant with `sso_deprovision_days`, a
 * member who signed in through its IdP before, and not once in that many days, is
 * deactivated, their sessions in the tenant ended. Members who never signed in
 * through SSO (break-glass administrators, API users) are not its to judge, nor are
 * the break-glass list and the last active admin. Idempotent: every node may run it.
 */
export function createDeprovisioning(deps: DeprovisioningDeps) {
  const now = deps.now ?? Date.now;

  async function runTenant(
    tenant: Awaited<ReturnType<typeof deprovisioningTenants>>[number],
    context: AuditContext,
  ): Promise<Deprovisioned[]> {
    const idleSince = now() - tenant.days * DAY_MS;
    const identities = createSsoIdentityStore(deps.db.kysely, now);
    const done: Deprovisioned[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const idle = await identities.staleMembers(tenant.tenant_id, idleSince, {
        after,
        limit: PAGE,
      });
      // Members deactivated already stay stale for ever: skipped without a transaction.
      const active = await deps.members.activeAmong(deps.db.kysely, tenant.tenant_id, idle);
      for (const userId of idle) {
        if (tenant.break_glass.includes(userId) || !active.has(userId)) continue;
        const changed = await deps.db.transaction(async (trx: AnyKysely) => {
          const entries = await deps.members.deactivateIdle(
            trx,
            tenant.tenant_id,
            userId,
            tenant.days,
          );
          await deps.audit.inTransaction(trx, context, entries);
          return entries.length > 0;
        });
        if (changed) {
          deps.changes.changed({ kind: 'user', id: userId });
          done.push({ tenant_id: tenant.tenant_id, user_id: userId });
        }
      }
      if (idle.length < PAGE) break;
      after = idle.at(-1);
    }
    return done;
  }

  return {
    /** One pass over every tenant with deprovisioning on, or over `tenantId` alone. */
    async run(
      options: { tenantId?: string; context?: AuditContext } = {},
    ): Promise<Deprovisioned[]> {
      const tenants = await deprovisioningTenants(deps.db.kysely, options.tenantId);
      const done: Deprovisioned[] = [];
      for (const tenant of tenants) {
        done.push(...(await runTenant(tenant, options.context ?? SYSTEM_CONTEXT)));
      }
      return done;
    },
  };
}

export type Deprovisioning = ReturnType<typeof createDeprovisioning>;

/** Runs deprovisioning every `intervalMs` on this node (everyInterval); returns the stop function. */
export function startDeprovisioning(
  deprovisioning: Deprovisioning,
  intervalMs: number,
  log: Pick<PeriodicLog, 'error' | 'info'>,
): () => Promise<void> {
  const run = async () => {
    const done = await deprovisioning.run();
    if (done.length > 0) log.info({ deactivated: done.length }, 'sso deprovisioning');
  };
  return everyInterval(run, intervalMs, log, 'sso deprovisioning failed');
}
