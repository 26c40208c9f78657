import { auditPartition } from '../../audit/audit-entry.ts';
import type { StoredEvent } from '../../events/model.ts';
import type { EventStore, LogFilter } from '../../events/store.ts';
import type { WebhookEndpoint } from '../endpoints/endpoint-record.ts';
import { matcherOf } from '../endpoints/filters.ts';
import type { EventSource } from './message.ts';

export interface DueEvent {
  readonly event: StoredEvent;
  readonly source: EventSource;
}

/** A step of an endpoint's walk along the log. */
export interface LogStep {
  /** The events after the cursor that match the endpoint's filters, in position order. */
  readonly due: readonly DueEvent[];
  /**
   * Every position up to this one was looked at (`due` holds what matched). When the
   * walk reached the end of the log, the head read before it: nothing at or below it
   * can still appear, since commits become visible in position order.
   */
  readonly scannedTo: number;
  /** The walk reached the end of the log. */
  readonly caughtUp: boolean;
}

/** An exact list goes to the store (an index serves it); a list with a pattern is matched here. */
const exactTypes = (patterns: readonly string[]) =>
  patterns.some((pattern) => pattern.includes('*')) ? undefined : patterns;

/**
 * Reads what is due to an endpoint: its tenant's log for event-store events, the
 * tenant's `$audit` partition for platform events, merged by position (positions are
 * global, so the two interleave in commit order). At most `limit` events per source,
 * so memory is bounded whatever the backlog.
 */
export function createLogReader(events: Pick<EventStore, 'readLog' | 'headPosition'>) {
  async function read(
    partition: string,
    patterns: readonly string[],
    after: number,
    limit: number,
    prefix: string | null,
  ) {
    const filter: LogFilter = {
      ...(prefix === null ? {} : { entity_prefix: prefix }),
      ...(exactTypes(patterns) ? { event_types: exactTypes(patterns) } : {}),
    };
    const found = await events.readLog(partition, after, limit, filter);
    return { found, full: found.length === limit };
  }

  return async function step(
    endpoint: WebhookEndpoint,
    after: number,
    limit: number,
  ): Promise<LogStep> {
    const { filters, tenant_id } = endpoint;
    const head = await events.headPosition();
    const sources: {
      source: EventSource;
      found: StoredEvent[];
      full: boolean;
      matches: (name: string) => boolean;
    }[] = [];
    if (filters.event_types.length > 0) {
      const read_ = await read(tenant_id, filters.event_types, after, limit, filters.entity_prefix);
      sources.push({ source: 'events', ...read_, matches: matcherOf(filters.event_types) });
    }
    if (filters.platform_events.length > 0) {
      const read_ = await read(
        auditPartition(tenant_id),
        filters.platform_events,
        after,
        limit,
        null,
      );
      sources.push({ source: 'platform', ...read_, matches: matcherOf(filters.platform_events) });
    }
    // A full batch may have more beyond it: the merge is sure only up to the lowest
    // last position among full batches.
    const bounds = sources
      .filter((read_) => read_.full)
      .map((read_) => read_.found.at(-1)?.position ?? after);
    const caughtUp = bounds.length === 0;
    const scannedTo = caughtUp ? Math.max(after, head) : Math.min(...bounds);
    const due: DueEvent[] = [];
    for (const { source, found, matches } of sources) {
      for (const event of found) {
        if (event.position <= scannedTo && matches(event.event_type)) due.push({ event, source });
      }
    }
    due.sort((a, b) => a.event.position - b.event.position);
    return { due, scannedTo, caughtUp };
  };
}

export type LogReader = ReturnType<typeof createLogReader>;
