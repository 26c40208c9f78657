/**
 * The seven quotas of a tenant, in the order the API lists them: AllSource's six, then
 * `max_webhooks` (webhook endpoints), which is Tessera's own, not AllSource's.
 */
export const QUOTA_NAMES = [
  'max_events_per_day',
  'max_storage_bytes',
  'max_queries_per_hour',
  'max_api_keys',
  'max_projections',
  'max_pipelines',
  'max_webhooks',
] as const;

export type QuotaName = (typeof QUOTA_NAMES)[number];

/** A tenant's limits; 0 means unlimited. */
export type Quotas = { readonly [name in QuotaName]: number };

export const PRESET_NAMES = ['free', 'professional', 'unlimited'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const GIB = 1024 ** 3;

/**
 * AllSource v1.0's presets, number for number (its `TenantQuotas::free_tier` and so on),
 * plus Tessera's own `max_webhooks`, which AllSource has no number for.
 */
export const PRESETS: { readonly [name in PresetName]: Quotas } = {
  free: {
    max_events_per_day: 10_000,
    max_storage_bytes: GIB,
    max_queries_per_hour: 1_000,
    max_api_keys: 2,
    max_projections: 5,
    max_pipelines: 2,
    max_webhooks: 3,
  },
  professional: {
    max_events_per_day: 1_000_000,
    max_storage_bytes: 100 * GIB,
    max_queries_per_hour: 100_000,
    max_api_keys: 25,
    max_projections: 100,
    max_pipelines: 50,
    max_webhooks: 50,
  },
  unlimited: {
    max_events_per_day: 0,
    max_storage_bytes: 0,
    max_queries_per_hour: 0,
    max_api_keys: 0,
    max_projections: 0,
    max_pipelines: 0,
    max_webhooks: 0,
  },
};

export const isPresetName = (name: string): name is PresetName =>
  (PRESET_NAMES as readonly string[]).includes(name);

/**
 * A plan named like a preset gets that preset; any other plan (plans are free-form
 * labels) has no numbers to enforce, so it is unlimited until quotas are set.
 */
export function presetForPlan(plan: string): Quotas {
  return isPresetName(plan) ? PRESETS[plan] : PRESETS.unlimited;
}

/** Where a tenant's quotas come from: its plan's preset, or set for it explicitly. */
export type QuotaSource = 'plan' | 'explicit';

export interface TenantQuotas {
  readonly tenant_id: string;
  readonly plan: string;
  readonly source: QuotaSource;
  readonly quotas: Quotas;
  /** When they were set explicitly; null when they follow the plan. */
  readonly updated_ms: number | null;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Start of the UTC window of `length` ms that `timeMs` falls in. */
export const windowStart = (timeMs: number, length: number): number => timeMs - (timeMs % length);
