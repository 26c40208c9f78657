import { createHash } from 'node:crypto';
import { RATE_TIERS, type RateTier, tierOf } from '../../config/plan-tiers.ts';
import type { Config } from '../../config/schema.ts';
import { type BucketRule, perHour, perMinute } from './token-bucket.ts';

/** Who a bucket belongs to: also the `scope` of a refusal and the metric label. */
export type RateLimitScope = 'ip' | 'email' | 'tenant' | 'api_key';

export interface RateLimitRules {
  readonly ip: BucketRule;
  readonly email: BucketRule;
  tenant(plan: string): BucketRule;
  apiKey(plan: string): BucketRule;
}

export function rulesFrom(config: Config['rate_limits']): RateLimitRules {
  const byTier = (rule: (tier: RateTier) => BucketRule) =>
    Object.fromEntries(RATE_TIERS.map((tier) => [tier, rule(tier)])) as {
      readonly [tier in RateTier]: BucketRule;
    };
  const tenant = byTier((tier) => perMinute(config[`${tier}_per_minute`], config[`${tier}_burst`]));
  // 0: a key gets its tenant plan's numbers, in a bucket of its own.
  const apiKey = byTier((tier) =>
    perMinute(
      config.api_key_per_minute || config[`${tier}_per_minute`],
      config.api_key_burst || config[`${tier}_burst`],
    ),
  );
  return {
    ip: perMinute(config.ip_per_minute, config.ip_burst),
    email: perHour(config.email_per_hour, config.email_burst),
    tenant: (plan) => tenant[tierOf(plan)],
    apiKey: (plan) => apiKey[tierOf(plan)],
  };
}

/**
 * Bucket keys. Email addresses are trimmed, lower-cased and hashed (SHA-256) first:
 * Redis and memory never hold an address, and `A@x.org ` shares `a@x.org`'s bucket.
 */
export const bucketKey = {
  ip: (ip: string) => `ip:${ip}`,
  email: (email: string) =>
    `email:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex')}`,
  tenant: (tenantId: string) => `tenant:${tenantId}`,
  apiKey: (apiKeyId: string) => `api_key:${apiKeyId}`,
};
