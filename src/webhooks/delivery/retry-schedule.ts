/**
 * How long to wait after the `failures`-th failed attempt of an event: the schedule's
 * entry with ±10% jitter (so endpoints that failed together do not retry in step), or
 * null once the schedule is spent and the endpoint is to be disabled.
 */
export function retryDelayMs(
  schedule: readonly number[],
  failures: number,
  random: () => number = Math.random,
): number | null {
  const seconds = schedule[failures - 1];
  if (seconds === undefined) return null;
  return Math.round(seconds * 1000 * (0.9 + 0.2 * random()));
}
