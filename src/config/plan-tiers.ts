/**
 * The plans the configuration gives numbers of their own (`rate_limits.<tier>_*`,
 * `subscriptions.<tier>_max_per_tenant`); any other plan gets `unlimited`'s. It lives
 * with the configuration because the config keys are named after it, and both the
 * rate limits and the subscription caps read it.
 */
export const RATE_TIERS = ['free', 'professional', 'unlimited', 'dev'] as const;
export type RateTier = (typeof RATE_TIERS)[number];

/**
 * Plans are free-form labels. One named like a tier gets its numbers; any other has
 * none of its own and gets `unlimited`'s, as its quotas do (quotas.ts presetForPlan).
 */
export function tierOf(plan: string): RateTier {
  return (RATE_TIERS as readonly string[]).includes(plan) ? (plan as RateTier) : 'unlimited';
}
