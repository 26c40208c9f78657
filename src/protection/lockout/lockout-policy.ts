import type { Config } from '../../config/schema.ts';

export type LockoutSettings = Config['lockout'];

/** Past this many doublings the delay is capped anyway; keeps 2 ** n finite. */
const MAX_DOUBLINGS = 30;

/**
 * How long a login attempt from an IP with `failures` recent failed logins waits
 * before it is answered: nothing below `max_failures`, then `ip_delay_ms`, doubling
 * with every further failure, never more than `ip_max_delay_ms`.
 */
export function ipDelayMs(failures: number, settings: LockoutSettings): number {
  if (failures < settings.max_failures) return 0;
  const doublings = Math.min(failures - settings.max_failures, MAX_DOUBLINGS);
  return Math.min(settings.ip_delay_ms * 2 ** doublings, settings.ip_max_delay_ms);
}

/** The earliest failure time still counted: failures at or before it have expired. */
export function windowCutoff(now: number, settings: LockoutSettings): number {
  return now - settings.window_seconds * 1000;
}
