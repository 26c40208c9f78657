import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of the event routes; documented in docs/errors.md. */
export const EventErrors = defineErrorCodes({
  stream_version_conflict: { status: 409, title: 'Stream version conflict' },
  duplicate_event_id: { status: 409, title: 'Duplicate event id' },
  event_not_found: { status: 404, title: 'Event not found' },
  entity_not_found: { status: 404, title: 'Entity not found' },
  snapshot_not_found: { status: 404, title: 'Snapshot not found' },
  event_too_large: { status: 413, title: 'Event too large' },
  batch_too_large: { status: 413, title: 'Batch too large' },
  entity_reserved: { status: 403, title: 'Entity reserved' },
  subscription_limit_reached: { status: 429, title: 'Subscription limit reached' },
  subscription_ticket_invalid: { status: 401, title: 'Subscription ticket invalid' },
  subscription_ticket_limit_reached: { status: 429, title: 'Subscription ticket limit reached' },
  origin_not_allowed: { status: 403, title: 'Origin not allowed' },
});
