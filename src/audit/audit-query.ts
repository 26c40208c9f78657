import type { StoredEvent } from '../events/model.ts';
import { eventBytes } from '../events/read-within-bytes.ts';
import type { EventService } from '../events/service.ts';
import {
  AUDIT_ENTITY,
  type AuditOutcome,
  type AuditRecord,
  auditPartition,
} from './audit-entry.ts';

export interface AuditFilter {
  readonly actions?: readonly string[] | undefined;
  readonly actor?: string | undefined;
  readonly target?: string | undefined;
  readonly outcome?: AuditOutcome | undefined;
  readonly since_ms?: number | undefined;
  readonly until_ms?: number | undefined;
  /** Position cursor, as for event queries. */
  readonly after?: number | undefined;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  /**
   * Most bytes of event JSON the page carries (`storage.max_read_page_bytes`); the
   * first match is always included, however large.
   */
  readonly max_bytes: number;
}

export interface AuditPage {
  /** The tenant's audit events, with `tenant_id` the tenant's own id. */
  readonly events: StoredEvent[];
  /** Where to continue; null when the trail has nothing more that could match. */
  readonly next_cursor: number | null;
}

/** Events read per round; a page of matches may need several. */
const READ_BATCH = 500;
/**
 * At most this many events are examined per request: a filter on actor, target or
 * outcome (not indexed) that matches rarely returns a short page and a cursor to
 * continue from, instead of reading the whole trail in one request.
 */
const MAX_SCANNED = 10_000;

/**
 * Action and time filters use the event indexes (type, time); actor, target and
 * outcome are checked on the events read.
 */
export async function queryAudit(
  events: Pick<EventService, 'query'>,
  tenantId: string,
  filter: AuditFilter,
): Promise<AuditPage> {
  const matches: StoredEvent[] = [];
  let bytes = 0;
  let cursor = filter.after;
  let scanned = 0;
  while (scanned < MAX_SCANNED) {
    const batch = await events.query(auditPartition(tenantId), {
      entity_id: AUDIT_ENTITY,
      event_types: filter.actions,
      since_ms: filter.since_ms,
      until_ms: filter.until_ms,
      after_position: cursor,
      order: filter.order,
      limit: READ_BATCH,
    });
    for (const event of batch) {
      scanned++;
      if (matchesFilter(event.payload as AuditRecord, filter)) {
        const match = { ...event, tenant_id: tenantId };
        const size = eventBytes(match);
        // Over budget: the page ends before this match, which the cursor leads back to.
        if (matches.length > 0 && bytes + size > filter.max_bytes) {
          return { events: matches, next_cursor: cursor ?? null };
        }
        matches.push(match);
        bytes += size;
      }
      cursor = event.position;
      if (matches.length === filter.limit) return { events: matches, next_cursor: cursor };
    }
    if (batch.length < READ_BATCH) return { events: matches, next_cursor: null };
  }
  return { events: matches, next_cursor: cursor ?? null };
}

function matchesFilter(record: AuditRecord, filter: AuditFilter): boolean {
  return (
    (filter.actor === undefined || record.actor === filter.actor) &&
    (filter.target === undefined || record.target === filter.target) &&
    (filter.outcome === undefined || record.outcome === filter.outcome)
  );
}
