/**
 * How many webhook endpoints a tenant holds, enabled or not: what `max_webhooks` limits
 * and `stats` reports. The webhooks domain sits above tenancy and owns
 * `webhook_endpoints`, so tenancy never reads that table: the composition root
 * supplies this from the webhooks domain.
 */
export type CountWebhooks = (tenantId: string) => Promise<number>;
