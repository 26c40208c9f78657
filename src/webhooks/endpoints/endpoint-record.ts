import type { Selectable } from 'kysely';
import type { WebhookEndpointRow } from '../../storage/tables.ts';
import type { WebhookFilters } from './filters.ts';

export type DisabledReason = NonNullable<WebhookEndpointRow['disabled_reason']>;

/** A tenant's webhook receiver and where its delivery stands; never its secrets. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly tenant_id: string;
  readonly url: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly disabled_reason: DisabledReason | null;
  readonly filters: WebhookFilters;
  /** Everything up to this log position was delivered or did not match. */
  readonly cursor_position: number;
  /** Failed attempts of the event held at the head; 0 when nothing fails. */
  readonly attempts: number;
  readonly next_attempt_ms: number;
  readonly failing_since_ms: number | null;
  readonly last_delivered_ms: number | null;
  /** Until when the secret replaced by the last rotation still signs; null: none does. */
  readonly previous_secret_until_ms: number | null;
  readonly created_by: string | null;
  readonly created_ms: number;
  readonly updated_ms: number;
}

/** An endpoint with its sealed secrets: for the node delivering it, never for a route. */
export interface SealedEndpoint {
  readonly endpoint: WebhookEndpoint;
  readonly secret_box: string;
  readonly previous_secret_box: string | null;
}

export function toEndpoint(row: Selectable<WebhookEndpointRow>): WebhookEndpoint {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    url: row.url,
    description: row.description,
    enabled: Number(row.enabled) === 1,
    disabled_reason: row.disabled_reason,
    filters: JSON.parse(row.filters) as WebhookFilters,
    cursor_position: Number(row.cursor_position),
    attempts: Number(row.attempts),
    next_attempt_ms: Number(row.next_attempt_ms),
    failing_since_ms: row.failing_since_ms,
    last_delivered_ms: row.last_delivered_ms,
    previous_secret_until_ms: row.previous_secret_until_ms,
    created_by: row.created_by,
    created_ms: row.created_ms,
    updated_ms: row.updated_ms,
  };
}
