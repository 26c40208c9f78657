import { randomUUID } from 'node:crypto';
import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { parseCidr, parseClientAddress } from '../../platform/cidr.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import { IpFilterErrors } from './ip-filter-errors.ts';
import { listOf, refuses } from './ip-filter-rules.ts';
import {
  createIpFilterStore,
  type IpFilterAction,
  type IpFilterRecord,
  type IpFilterScope,
} from './ip-filter-store.ts';

/** The routes speak of scopes as the service does, never reaching the store. */
export type { IpFilterScope } from './ip-filter-store.ts';

/** Entries per scope: every node holds every list in memory. */
export const MAX_FILTERS_PER_SCOPE = 1000;

export interface NewIpFilter {
  readonly cidr: string;
  readonly action: IpFilterAction;
  readonly reason: string;
  readonly scope: IpFilterScope;
}

/**
 * Tenancy's: holds the tenant's row until `trx` ends. Locking a scope's tenant (the
 * `system` tenant's for global entries) checks concurrent changes to one scope's list
 * one after another.
 */
export type LockTenant = (trx: AnyKysely, tenantId: string) => Promise<void>;

export interface IpFilterServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  readonly lockTenant: LockTenant;
  /** After a change commits: this node applies it before answering. */
  readonly changed?: () => Promise<void>;
  readonly now?: () => number;
}

const scopeName = (scope: IpFilterScope) => (scope === null ? 'global' : 'tenant');

/** Global entries are recorded in the `system` tenant's trail, a tenant's in its own. */
function auditEntry(action: string, filter: IpFilterRecord): AuditEntry {
  return {
    tenant_id: filter.tenant_id ?? SYSTEM_TENANT,
    action,
    target: `ip_filter:${filter.id}`,
    outcome: 'success',
    details: {
      scope: scopeName(filter.tenant_id),
      cidr: filter.cidr,
      action: filter.action,
      reason: filter.reason,
    },
  };
}

/**
 * Refuses a change after which the scope's list would refuse the caller's own
 * address (an HTTP caller; the CLI has none and is how to recover): the next request
 * from there could not undo it.
 */
function checkNotLockedOut(context: AuditContext, after: readonly IpFilterRecord[]): void {
  if (context.ip === null) return;
  if (!refuses(listOf(after), parseClientAddress(context.ip))) return;
  throw new TesseraError(
    IpFilterErrors.ip_filter_self_lockout,
    `After this change the list would refuse your own address (${context.ip}), so you could not undo it from here. ` +
      'Allow your address first, or make the change with the `tessera ipfilter` CLI.',
    { extensions: { ip: context.ip } },
  );
}

/**
 * IP allow and block lists, for the routes and the CLI: the same rules and audit
 * events. Who may change which scope is the caller's to check (routes: permissions;
 * the CLI: an operator at the database).
 */
export function createIpFilterService(deps: IpFilterServiceDeps) {
  const { db, audit } = deps;
  const now = deps.now ?? Date.now;
  const changed = async () => deps.changed?.();
  const lockScope = (trx: AnyKysely, scope: IpFilterScope) =>
    deps.lockTenant(trx, scope ?? SYSTEM_TENANT);

  return {
    /** 400 `invalid_cidr`; 409 `ip_filter_exists`, `ip_filter_limit_reached`, `ip_filter_self_lockout`. */
    async add(context: AuditContext, filter: NewIpFilter): Promise<IpFilterRecord> {
      const parsed = parseCidr(filter.cidr);
      if ('error' in parsed) {
        throw new TesseraError(IpFilterErrors.invalid_cidr, parsed.error, {
          errors: [{ path: '/cidr', message: parsed.error }],
        });
      }
      const record: IpFilterRecord = {
        id: randomUUID(),
        tenant_id: filter.scope,
        cidr: parsed.cidr.text,
        action: filter.action,
        reason: filter.reason,
        created_by: context.actor,
        created_by_type: context.actor_type,
        created_ms: now(),
      };
      await db.transaction(async (trx: AnyKysely) => {
        const store = createIpFilterStore({ kysely: trx });
        await lockScope(trx, filter.scope);
        const entries = await store.scope(filter.scope);
        const same = entries.find((entry) => entry.cidr === record.cidr);
        if (same) throw exists(same);
        if (entries.length >= MAX_FILTERS_PER_SCOPE) {
          throw new TesseraError(
            IpFilterErrors.ip_filter_limit_reached,
            `This list holds ${MAX_FILTERS_PER_SCOPE} entries, the most it can; remove some, or cover them with wider ranges.`,
            { extensions: { limit: MAX_FILTERS_PER_SCOPE } },
          );
        }
        checkNotLockedOut(context, [...entries, record]);
        try {
          await store.insert(record);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // Only without the scope's lock (an operator's SQL) can another writer get here first.
          throw exists({ ...record, id: undefined });
        }
        await audit.inTransaction(trx, context, [auditEntry('ip_filter.created', record)]);
      });
      await changed();
      return record;
    },

    list: (scope: IpFilterScope, page: { after?: string | undefined; limit: number }) =>
      createIpFilterStore(db).list(scope, page),

    /**
     * Removes the entry if `mayRemove` allows its scope; 404 `ip_filter_not_found`
     * otherwise, the same as for an id that does not exist. 409 `ip_filter_self_lockout`.
     */
    async remove(
      context: AuditContext,
      id: string,
      mayRemove: (scope: IpFilterScope) => boolean,
    ): Promise<IpFilterRecord> {
      const removed = await db.transaction(async (trx: AnyKysely) => {
        const store = createIpFilterStore({ kysely: trx });
        const found = await store.findAny(id);
        if (!found || !mayRemove(found.tenant_id)) throw notFound();
        await lockScope(trx, found.tenant_id);
        const entries = await store.scope(found.tenant_id);
        checkNotLockedOut(
          context,
          entries.filter((entry) => entry.id !== id),
        );
        // Gone meanwhile (another node removed it): as if it never existed.
        if (!(await store.remove(found.tenant_id, id))) throw notFound();
        await audit.inTransaction(trx, context, [auditEntry('ip_filter.removed', found)]);
        return found;
      });
      await changed();
      return removed;
    },
  };
}

export type IpFilterService = ReturnType<typeof createIpFilterService>;

function exists(
  entry: Pick<IpFilterRecord, 'cidr' | 'action'> & { id?: string | undefined },
): TesseraError {
  return new TesseraError(
    IpFilterErrors.ip_filter_exists,
    `This list has an entry for ${entry.cidr} already; remove it first to change it.`,
    { extensions: { id: entry.id, cidr: entry.cidr } },
  );
}

function notFound(): TesseraError {
  return new TesseraError(
    IpFilterErrors.ip_filter_not_found,
    'No IP filter you can see has that id.',
  );
}
