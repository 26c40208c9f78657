const UNITS = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
] as const;

/**
 * A link's lifetime as an email says it (`expires_in`): the largest unit that divides
 * it exactly, so 604800 is "7 days", 5400 "90 minutes" and 86400 "1 day".
 */
export function durationText(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const [size, unit] = UNITS.find(([size]) => whole % size === 0 && whole >= size) ?? [1, 'second'];
  const count = whole / size;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
