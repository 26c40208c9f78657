import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of webhooks (issue 21); documented in docs/errors.md and docs/webhooks.md. */
export const WebhookErrors = defineErrorCodes({
  webhook_not_found: { status: 404, title: 'Webhook endpoint not found' },
  webhook_delivery_not_found: { status: 404, title: 'Webhook delivery not found' },
  /** The tenant holds `webhooks.max_endpoints_per_tenant` endpoints already. */
  webhook_limit_reached: { status: 409, title: 'Webhook endpoint limit reached' },
  /** A replay asked to start after what was delivered: it would skip events. */
  webhook_replay_ahead: { status: 409, title: 'Replay would skip events' },
});
