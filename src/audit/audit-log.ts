import type { AuditContext } from '../access/audit-context.ts';
import type { AppendUnit } from '../events/model.ts';
import { openEventStore } from '../events/open-event-store.ts';
import type { AnyKysely } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import { AUDIT_ENTITY, type AuditEntry, auditPartition, auditRecord } from './audit-entry.ts';

export interface AuditLog {
  /**
   * Appends `entries` inside `trx`, the transaction making the change they record,
   * so they commit with it or not at all. Call it last: on both engines it holds the
   * event log's write lock until the commit.
   */
  inTransaction(
    trx: AnyKysely,
    context: AuditContext,
    entries: readonly AuditEntry[],
  ): Promise<void>;
  /** In a transaction of its own: for what changes nothing (a failed login, a denied request). */
  record(context: AuditContext, entries: readonly AuditEntry[]): Promise<void>;
}

/**
 * The audit trail: every entry is an event of its tenant's `$audit` entity (in the
 * tenant's audit partition, see auditPartition), with the action as its type: it is
 * stored, ordered and queried like any event, in the same log as the data it concerns.
 */
export function createAuditLog(db: Database): AuditLog {
  // A store of its own costs nothing: appends in a caller's transaction share no state
  // (group commit, remembered versions) with the event service's appends.
  const events = openEventStore(db);
  async function inTransaction(
    trx: AnyKysely,
    context: AuditContext,
    entries: readonly AuditEntry[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const outcomes = await events.appendInTransaction(trx, unitsOf(context, entries));
    const refused = outcomes.find((outcome) => !outcome.ok);
    // Appends with expected version "any" and no client ids cannot be refused.
    if (refused) throw new Error(`an audit append was refused: ${JSON.stringify(refused)}`);
  }
  return {
    inTransaction,
    record: (context, entries) => db.transaction((trx) => inTransaction(trx, context, entries)),
  };
}

/** One unit per tenant: each tenant's entries go to its own `$audit` entity. */
function unitsOf(context: AuditContext, entries: readonly AuditEntry[]): AppendUnit[] {
  const byTenant = new Map<string, AuditEntry[]>();
  for (const entry of entries) {
    const list = byTenant.get(entry.tenant_id) ?? [];
    list.push(entry);
    byTenant.set(entry.tenant_id, list);
  }
  return [...byTenant].map(([tenantId, list]) => ({
    tenant_id: auditPartition(tenantId),
    entities: [
      {
        entity_id: AUDIT_ENTITY,
        expected_version: 'any',
        events: list.map((entry) => ({
          event_type: entry.action,
          payload: auditRecord(context, entry),
          metadata: {},
        })),
      },
    ],
  }));
}
